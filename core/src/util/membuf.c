/* rsicam — a growing byte buffer (membuf.h). */
#include "membuf.h"

#include <stdlib.h>
#include <string.h>

int rsi_membuf_put(rsi_membuf *b, const void *s, size_t n)
{
    if (b->failed)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return -1;
        }
        b->data = data;
        b->cap = cap;
    }
    if (n) /* s may be NULL then (an empty piece), and memcpy's may not */
        memcpy(b->data + b->n, s, n);
    b->n += n;
    b->data[b->n] = '\0';
    return 0;
}
