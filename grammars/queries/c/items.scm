; Definitions in C source.
;
; A function's name sits inside its declarator, which pointer return types
; wrap: `char **dup(...)` is a pointer to a pointer to a function declarator.
; Two levels of pointers cover real code. Prototypes (`declaration`s with a
; function declarator) count too, since a header has nothing else.

(function_definition
  declarator: [
    (function_declarator
      declarator: (identifier) @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: (identifier) @name)))
  ]) @item

(declaration
  declarator: [
    (function_declarator
      declarator: (identifier) @name)
    (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: (identifier) @name)))
  ]) @item

; Only specifiers with a body define a type; `struct point p;` merely uses one.
(struct_specifier
  name: (type_identifier) @name
  body: (field_declaration_list)) @item

(union_specifier
  name: (type_identifier) @name
  body: (field_declaration_list)) @item

(enum_specifier
  name: (type_identifier) @name
  body: (enumerator_list)) @item

; `typedef struct {...} point;`, `typedef struct node *node_ptr;` and
; function pointer types such as `typedef void (*callback)(int);`.
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
