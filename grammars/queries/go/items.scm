; Definitions in Go source. A `type (...)` group declares several types, so
; the item is each `type_spec` rather than the whole declaration.

(function_declaration
  name: (identifier) @name) @item

(method_declaration
  name: (field_identifier) @name) @item

(type_spec
  name: (type_identifier) @name) @item

(type_alias
  name: (type_identifier) @name) @item

; Methods listed in an interface type.
(method_elem
  name: (field_identifier) @name) @item
