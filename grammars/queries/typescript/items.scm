; Definitions in TypeScript and TSX source. This covers the JavaScript forms
; (with TypeScript's node names) plus the type-level declarations.

(function_declaration
  name: (identifier) @name) @item

(generator_function_declaration
  name: (identifier) @name) @item

; Overload signatures and `declare function` in `.d.ts` files.
(function_signature
  name: (identifier) @name) @item

(class_declaration
  name: (type_identifier) @name) @item

(abstract_class_declaration
  name: (type_identifier) @name) @item

(method_definition
  name: (_) @name) @item

; Methods declared in interfaces and object types.
(method_signature
  name: (_) @name) @item

(abstract_method_signature
  name: (_) @name) @item

(interface_declaration
  name: (type_identifier) @name) @item

(type_alias_declaration
  name: (type_identifier) @name) @item

(enum_declaration
  name: (identifier) @name) @item

; `const add = (a: number, b: number) => a + b`. The item is the declarator,
; because a single `const` statement may declare several of them.
(variable_declarator
  name: (identifier) @name
  value: [
    (arrow_function)
    (function_expression)
    (generator_function)
    (class)
  ]) @item

; Class fields holding functions act as methods: `onClick = () => {}`.
(public_field_definition
  name: (_) @name
  value: [
    (arrow_function)
    (function_expression)
  ]) @item

; CommonJS and prototype style: `exports.parse = function () {}`.
(assignment_expression
  left: [
    (identifier) @name
    (member_expression
      property: (property_identifier) @name)
  ]
  right: [
    (arrow_function)
    (function_expression)
  ]) @item
