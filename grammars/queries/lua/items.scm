; Definitions in Lua source. Lua has no types, so the items are functions.
; Names are reported as written (`M.setup`, `Class:method`) because the table
; a function is stored in is part of how callers refer to it.

; `function f() end`, `local function f() end`, `function M.f() end` and
; `function M:f() end`.
(function_declaration
  name: (_) @name) @item

; `local f = function() end` and `M.f = function() end`. Only the first
; name/value pair is considered, which keeps multiple assignments from being
; reported twice and matches how such functions are written in practice.
(assignment_statement
  (variable_list
    .
    name: (_) @name)
  (expression_list
    .
    value: (function_definition))) @item

; Functions stored in a table constructor: `return { setup = function() end }`.
(field
  name: (identifier) @name
  value: (function_definition)) @item
