; Both `import "fmt"` and grouped `import ( ... )` declarations.

(import_declaration) @import
