; Scripts pull in other scripts with `source file` or its POSIX spelling
; `. file`, anywhere in the script (guarded sourcing such as
; `[ -f ~/.env ] && . ~/.env` is common).

(
  (command
    name: (command_name
      (word) @_command)) @import
  (#any-of? @_command "source" ".")
)
