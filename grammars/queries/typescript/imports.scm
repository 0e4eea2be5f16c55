; ES module imports (including `import x = require("x")`), re-exports and
; CommonJS `require` bindings.

(import_statement) @import

(export_statement
  source: (_)) @import

; `const fs = require("fs")`. Anchoring on the first declarator keeps a
; statement that requires several modules from being reported twice.
(
  [
    (lexical_declaration
      .
      (variable_declarator
        value: (call_expression
          function: (identifier) @_require)))
    (variable_declaration
      .
      (variable_declarator
        value: (call_expression
          function: (identifier) @_require)))
  ] @import
  (#eq? @_require "require")
)

; A bare `require("./polyfill")` run for its side effects.
(
  (expression_statement
    (call_expression
      function: (identifier) @_require)) @import
  (#eq? @_require "require")
)
