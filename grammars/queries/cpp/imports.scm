; `#include <vector>` and `#include "local.hpp"`.

(preproc_include) @import
