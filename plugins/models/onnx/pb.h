/* A reader of the protocol-buffer wire format: just enough to walk an ONNX
 * ModelProto field by field without generated code. Every read is checked
 * against the end of its buffer, so a truncated or foreign file ends in
 * an error, never a read past the end. */
#ifndef RSICAM_ONNX_PB_H
#define RSICAM_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_OK = 0, PB_MALFORMED = 1, PB_PAST_END = 2 };

typedef struct pb_reader {
    const uint8_t *at, *end;
    /* set once a read failed: PB_PAST_END (a field runs past the end: a
     * truncated file) or PB_MALFORMED (bytes no encoder writes) */
    int bad;
} pb_reader;

/* One field: its number, wire type and value (varint / fixed in u, a
 * length-delimited field's bytes in data/len). */
typedef struct pb_field {
    uint32_t number;
    int wire; /* 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
    uint64_t u;
    const uint8_t *data;
    size_t len;
} pb_field;

static inline pb_reader pb_open(const void *data, size_t len)
{
    pb_reader r = {(const uint8_t *)data, (const uint8_t *)data + len, 0};
    return r;
}

/* The next field into f: 1, or 0 at the end (and on an error: r->bad). */
int pb_next(pb_reader *r, pb_field *f);
/* A reader over a length-delimited field's bytes (a nested message). */
pb_reader pb_sub(const pb_field *f);

/* Packed or single repeated numbers, appended to a growing array: varint
 * int64s, fixed32 floats. Return -1 on a malformed field or no memory. */
int pb_ints(const pb_field *f, int64_t **v, size_t *n);
int pb_floats(const pb_field *f, float **v, size_t *n);
/* A length-delimited field as a new NUL-terminated string (NULL: no
 * memory). */
char *pb_string(const pb_field *f);

#endif
