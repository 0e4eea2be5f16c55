; Every form of import, at any depth (imports inside functions are common for
; optional dependencies).

(import_statement) @import

(import_from_statement) @import

(future_import_statement) @import
