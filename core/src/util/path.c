/* rsicam — file names made from parts (path.h). */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>

#include "rsicam/error.h"

char *rsi_path_join(const char *dir, const char *name)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s", dir, name) < 0) {
        rsi_error("out of memory");
        return NULL;
    }
    return s;
}
