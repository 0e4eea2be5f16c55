; Definitions in Rust source. Functions inside `impl` and `trait` blocks are
; methods; bodiless trait methods and `extern` functions are
; `function_signature_item`s.

(function_item
  name: (identifier) @name) @item

(function_signature_item
  name: (identifier) @name) @item

(struct_item
  name: (type_identifier) @name) @item

(enum_item
  name: (type_identifier) @name) @item

(union_item
  name: (type_identifier) @name) @item

(trait_item
  name: (type_identifier) @name) @item

(type_item
  name: (type_identifier) @name) @item

; An impl has no name of its own; the self type is what readers look for
; (`impl Display for Foo<T>` is named `Foo<T>`). The type may be a path, a
; reference or a tuple, so take the whole node rather than an identifier.
(impl_item
  type: (_) @name) @item
