; Definitions in shell scripts: both `name() { ... }` and
; `function name { ... }` parse as a `function_definition`.

(function_definition
  name: (word) @name) @item
