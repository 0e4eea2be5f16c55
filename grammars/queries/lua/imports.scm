; Modules loaded with `require` at the top level of a chunk: bound to a local
; (`local json = require("json")`), to a global, or called for their side
; effects. A `require` buried in a function is a lazy load, not a dependency
; of the file as a whole, so it is left out. Only the first value of an
; assignment is considered, so a statement is reported at most once.

(chunk
  (variable_declaration
    (assignment_statement
      (expression_list
        .
        value: (function_call
          name: (identifier) @_require)))) @import
  (#eq? @_require "require"))

(chunk
  (assignment_statement
    (expression_list
      .
      value: (function_call
        name: (identifier) @_require))) @import
  (#eq? @_require "require"))

(chunk
  (function_call
    name: (identifier) @_require) @import
  (#eq? @_require "require"))
