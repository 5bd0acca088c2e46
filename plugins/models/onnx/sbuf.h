/* A growing text buffer for generated TorchScript source. */
#ifndef RSICAM_ONNX_SBUF_H
#define RSICAM_ONNX_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int failed; /* set when memory ran out; the text is then incomplete */
} sbuf;

void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends a number as TorchScript reads it back exactly (a float literal
 * with enough digits; inf and nan spelled as expressions). */
void sb_float(sbuf *b, double v);
void sb_free(sbuf *b);
/* The text so far ("" when empty). */
const char *sb_text(const sbuf *b);

#endif
