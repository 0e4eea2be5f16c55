; `#include <stdio.h>` and `#include "local.h"`.

(preproc_include) @import
