/* A growing byte buffer, for text or records built piece by piece (YAML
 * out, the plugin scanner's records). A failed allocation sticks, so a
 * caller checks once at the end instead of after every piece. */
#ifndef RSICAM_MEMBUF_H
#define RSICAM_MEMBUF_H

#include <stddef.h>

typedef struct rsi_membuf {
    char *data; /* n bytes, then a '\0' (not counted); malloc'd */
    size_t n, cap;
    int failed; /* an allocation failed: data holds what came before */
} rsi_membuf;

/* Appends the n bytes at s (NULL when n is 0). Returns 0, or -1 when
 * this or an earlier append failed. */
int rsi_membuf_put(rsi_membuf *b, const void *s, size_t n);

#endif
