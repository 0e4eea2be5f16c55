; Definitions in JavaScript (and JSX) source.

(function_declaration
  name: (identifier) @name) @item

(generator_function_declaration
  name: (identifier) @name) @item

(class_declaration
  name: (identifier) @name) @item

(method_definition
  name: (_) @name) @item

; Much JavaScript defines functions and classes by binding an expression to a
; name: `const add = (a, b) => a + b`. The item is the declarator, because a
; single `const` statement may declare several of them.
(variable_declarator
  name: (identifier) @name
  value: [
    (arrow_function)
    (function_expression)
    (generator_function)
    (class)
  ]) @item

; Class fields holding functions act as methods: `onClick = () => {}`.
(field_definition
  property: (_) @name
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
