; Definitions in Python source. Methods are `function_definition`s nested in a
; class body. For decorated definitions the item is the undecorated
; definition, so every definition has exactly one item whether or not it is
; decorated.

(function_definition
  name: (identifier) @name) @item

(class_definition
  name: (identifier) @name) @item

; Python 3.12 `type Alias = ...` statements. The left-hand side is a type
; expression; only plain and generic names are definitions worth reporting.
(type_alias_statement
  left: (type
    [
      (identifier) @name
      (generic_type
        (identifier) @name)
    ])) @item
