; Definitions in Java source. Interface methods without a body are
; `method_declaration`s too.

(class_declaration
  name: (identifier) @name) @item

(interface_declaration
  name: (identifier) @name) @item

(enum_declaration
  name: (identifier) @name) @item

(record_declaration
  name: (identifier) @name) @item

(annotation_type_declaration
  name: (identifier) @name) @item

(method_declaration
  name: (identifier) @name) @item

(constructor_declaration
  name: (identifier) @name) @item
