/* The protocol-buffer wire format (pb.h). */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

static uint64_t read_varint(pb_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->at >= r->end) {
            r->bad = PB_PAST_END;
            return 0;
        }
        const uint8_t b = *r->at++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = PB_MALFORMED; /* more than ten bytes: not a varint */
    return 0;
}

static int take(pb_reader *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->at) < n) {
        r->bad = PB_PAST_END;
        return -1;
    }
    *out = r->at;
    r->at += n;
    return 0;
}

int pb_next(pb_reader *r, pb_field *f)
{
    if (r->bad || r->at >= r->end)
        return 0;
    const uint64_t key = read_varint(r);
    memset(f, 0, sizeof *f);
    f->number = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    if (r->bad || f->number == 0) {
        r->bad = r->bad ? r->bad : PB_MALFORMED;
        return 0;
    }
    const uint8_t *p;
    switch (f->wire) {
    case 0:
        f->u = read_varint(r);
        break;
    case 1:
        if (take(r, 8, &p) == 0)
            memcpy(&f->u, p, 8); /* ONNX files are little-endian, as is x86 */
        break;
    case 5: {
        uint32_t u32 = 0;
        if (take(r, 4, &p) == 0)
            memcpy(&u32, p, 4);
        f->u = u32;
        break;
    }
    case 2: {
        const uint64_t len = read_varint(r);
        if (!r->bad && len > (uint64_t)(r->end - r->at))
            r->bad = PB_PAST_END;
        else if (!r->bad && take(r, (size_t)len, &p) == 0) {
            f->data = p;
            f->len = (size_t)len;
        }
        break;
    }
    default: /* groups (3, 4) are not used by ONNX; 6 and 7 do not exist */
        r->bad = PB_MALFORMED;
    }
    return !r->bad;
}

pb_reader pb_sub(const pb_field *f)
{
    return pb_open(f->data, f->len);
}

static int grow(void **v, size_t elem, size_t n, size_t more)
{
    void *p = realloc(*v, (n + more) * elem + 1);
    if (!p)
        return -1;
    *v = p;
    return 0;
}

int pb_ints(const pb_field *f, int64_t **v, size_t *n)
{
    if (f->wire == 0) {
        if (grow((void **)v, sizeof **v, *n, 1) < 0)
            return -1;
        (*v)[(*n)++] = (int64_t)f->u;
        return 0;
    }
    if (f->wire != 2)
        return -1;
    pb_reader r = pb_sub(f);
    if (grow((void **)v, sizeof **v, *n, f->len) < 0)
        return -1;
    while (r.at < r.end) {
        const uint64_t u = read_varint(&r);
        if (r.bad)
            return -1;
        (*v)[(*n)++] = (int64_t)u;
    }
    return 0;
}

int pb_floats(const pb_field *f, float **v, size_t *n)
{
    if (f->wire == 5) {
        if (grow((void **)v, sizeof **v, *n, 1) < 0)
            return -1;
        uint32_t u = (uint32_t)f->u;
        memcpy(&(*v)[(*n)++], &u, 4);
        return 0;
    }
    if (f->wire != 2 || f->len % 4)
        return -1;
    if (grow((void **)v, sizeof **v, *n, f->len / 4) < 0)
        return -1;
    memcpy(*v + *n, f->data, f->len);
    *n += f->len / 4;
    return 0;
}

char *pb_string(const pb_field *f)
{
    char *s = malloc(f->len + 1);
    if (!s)
        return NULL;
    if (f->len)
        memcpy(s, f->data, f->len);
    s[f->len] = '\0';
    return s;
}
