; Definitions in C++ source.
;
; A function's name sits inside its declarator, possibly wrapped by a pointer
; or reference return type. The name may be a plain identifier, a member name
; inside a class body, a qualified out-of-class definition (`Widget::draw`,
; reported as written), a destructor or an operator.

(function_definition
  declarator: [
    (function_declarator
      declarator: [
        (identifier)
        (field_identifier)
        (qualified_identifier)
        (destructor_name)
        (operator_name)
      ] @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [
          (identifier)
          (field_identifier)
          (qualified_identifier)
          (destructor_name)
          (operator_name)
        ] @name))
    (reference_declarator
      (function_declarator
        declarator: [
          (identifier)
          (field_identifier)
          (qualified_identifier)
          (destructor_name)
          (operator_name)
        ] @name))
  ]) @item

; Prototypes, and constructors or destructors declared in a class body.
(declaration
  declarator: [
    (function_declarator
      declarator: [
        (identifier)
        (qualified_identifier)
        (destructor_name)
        (operator_name)
      ] @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [
          (identifier)
          (qualified_identifier)
          (operator_name)
        ] @name))
    (reference_declarator
      (function_declarator
        declarator: [
          (identifier)
          (qualified_identifier)
          (operator_name)
        ] @name))
  ]) @item

; Member functions declared in a class body and defined elsewhere.
(field_declaration
  declarator: [
    (function_declarator
      declarator: [
        (field_identifier)
        (operator_name)
      ] @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [
          (field_identifier)
          (operator_name)
        ] @name))
    (reference_declarator
      (function_declarator
        declarator: [
          (field_identifier)
          (operator_name)
        ] @name))
  ]) @item

; Only specifiers with a body define a type; `class Widget;` is a forward
; declaration. Templates are reported through the class they declare.
(class_specifier
  name: (_) @name
  body: (field_declaration_list)) @item

(struct_specifier
  name: (_) @name
  body: (field_declaration_list)) @item

(union_specifier
  name: (_) @name
  body: (field_declaration_list)) @item

(enum_specifier
  name: (_) @name
  body: (enumerator_list)) @item

(type_definition
  declarator: [
    (type_identifier) @name
    (pointer_declarator
      declarator: (type_identifier) @name)
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator
          declarator: (type_identifier) @name)))
  ]) @item

; `using Callback = std::function<void(int)>;`
(alias_declaration
  name: (type_identifier) @name) @item
