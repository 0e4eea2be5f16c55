; `use` declarations at any depth, and the `extern crate` items of older code.

(use_declaration) @import

(extern_crate_declaration) @import
