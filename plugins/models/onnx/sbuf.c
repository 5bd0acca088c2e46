/* Text buffers (sbuf.h). */
#include "sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const size_t room = b->cap - b->len;
        const int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

void sb_float(sbuf *b, double v)
{
    if (isnan(v))
        sb_printf(b, "float('nan')");
    else if (isinf(v))
        sb_printf(b, "%sfloat('inf')", v < 0 ? "-" : "");
    else {
        char text[40];
        snprintf(text, sizeof text, "%.9g", v);
        /* "3" would be an int to TorchScript */
        sb_printf(b, "%s%s", text, strpbrk(text, ".e") ? "" : ".0");
    }
}

void sb_free(sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

const char *sb_text(const sbuf *b)
{
    return b->s ? b->s : "";
}
