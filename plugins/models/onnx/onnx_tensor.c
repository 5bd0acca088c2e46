/* Reading ONNX TensorProtos (initializers, attributes, test data files)
 * and whole files. */
#include "proto_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regular_file.h"

/* ---- TensorProto -------------------------------------------------------- */

static size_t element_size(int dtype)
{
    switch (dtype) {
    case OX_FLOAT:
    case OX_INT32:
        return 4;
    case OX_INT64:
    case OX_DOUBLE:
        return 8;
    case OX_UINT8:
    case OX_INT8:
    case OX_BOOL:
        return 1;
    default:
        return 0;
    }
}

static int is_float_type(int dtype)
{
    return dtype == OX_FLOAT || dtype == OX_DOUBLE;
}

/* raw_data, little-endian, into t->f or t->i. */
static int convert_raw(parse_state *ps, ox_tensor *t, const pb_field *raw)
{
    const size_t es = element_size(t->dtype);
    if (raw->len != t->n * es)
        return ox_fail(ps,
                       "tensor '%s': raw_data holds %zu bytes, its shape "
                       "needs %zu",
                       t->name ? t->name : "", raw->len, t->n * es);
    const uint8_t *p = raw->data;
    if (is_float_type(t->dtype)) {
        if (!(t->f = malloc(t->n * sizeof *t->f + 1)))
            return ox_no_memory(ps);
        for (size_t k = 0; k < t->n; k++) {
            if (t->dtype == OX_FLOAT) {
                memcpy(&t->f[k], p + 4 * k, 4);
            } else {
                double d;
                memcpy(&d, p + 8 * k, 8);
                t->f[k] = (float)d;
            }
        }
        return 0;
    }
    if (!(t->i = malloc(t->n * sizeof *t->i + 1)))
        return ox_no_memory(ps);
    for (size_t k = 0; k < t->n; k++) {
        switch (t->dtype) {
        case OX_INT64:
            memcpy(&t->i[k], p + 8 * k, 8);
            break;
        case OX_INT32: {
            int32_t v;
            memcpy(&v, p + 4 * k, 4);
            t->i[k] = v;
            break;
        }
        case OX_INT8:
            t->i[k] = (int8_t)p[k];
            break;
        default: /* uint8, bool */
            t->i[k] = p[k];
        }
    }
    return 0;
}

int ox_parse_tensor(parse_state *ps, ox_tensor *t, pb_reader r)
{
    pb_field f, raw = {0};
    int64_t *dims = NULL, *ints = NULL;
    size_t n_dims = 0, n_ints = 0, n_floats = 0;
    float *floats = NULL;
    int external = 0, rc = 0;
    while (rc == 0 && pb_next(&r, &f)) {
        switch (f.number) {
        case 1:
            rc = pb_ints(&f, &dims, &n_dims);
            break;
        case 2:
            t->dtype = (int)f.u;
            break;
        case 4:
            rc = pb_floats(&f, &floats, &n_floats);
            break;
        case 5:
        case 7:
            rc = pb_ints(&f, &ints, &n_ints);
            break;
        case 8:
            free(t->name);
            if (!(t->name = pb_string(&f)))
                rc = ox_no_memory(ps);
            break;
        case 9:
            raw = f;
            break;
        case 10: { /* double_data: packed fixed64 */
            for (size_t k = 0; k + 8 <= f.len; k += 8) {
                double d;
                memcpy(&d, f.data + k, 8);
                pb_field one = {.wire = 5};
                float v = (float)d;
                uint32_t u;
                memcpy(&u, &v, 4);
                one.u = u;
                if (pb_floats(&one, &floats, &n_floats) < 0)
                    rc = -1;
            }
            break;
        }
        case 13:
            external = 1;
            break;
        case 14:
            external = external || f.u == 1;
            break;
        }
    }
    if (rc < 0 && !ps->failed)
        ox_fail(ps, "malformed tensor '%s'", t->name ? t->name : "");
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "a tensor");
    if (!ps->failed && n_dims > OX_MAX_DIMS)
        ox_fail(ps, "tensor '%s' has %zu dimensions (at most %d supported)",
                t->name ? t->name : "", n_dims, OX_MAX_DIMS);
    if (!ps->failed && external)
        ox_fail(ps,
                "tensor '%s' keeps its data in an external file, which is "
                "not supported (save the model with its weights inside)",
                t->name ? t->name : "");
    if (!ps->failed && !element_size(t->dtype))
        ox_fail(ps,
                "tensor '%s' has data type %d, not one of float, double, "
                "int8, uint8, int32, int64, bool",
                t->name ? t->name : "", t->dtype);
    if (!ps->failed) {
        t->ndim = (int)n_dims;
        t->n = 1;
        for (size_t k = 0; k < n_dims; k++) {
            t->dims[k] = dims[k];
            t->n *= (size_t)(dims[k] > 0 ? dims[k] : 0);
        }
        if (raw.data || (raw.wire == 2 && t->n == 0)) {
            convert_raw(ps, t, &raw);
        } else if (is_float_type(t->dtype)) {
            if (n_floats != t->n)
                ox_fail(ps, "tensor '%s': %zu values for a shape of %zu",
                        t->name ? t->name : "", n_floats, t->n);
            t->f = floats;
            floats = NULL;
        } else {
            if (n_ints != t->n)
                ox_fail(ps, "tensor '%s': %zu values for a shape of %zu",
                        t->name ? t->name : "", n_ints, t->n);
            t->i = ints;
            ints = NULL;
        }
        if (!ps->failed && !t->f && !t->i) {
            /* an empty tensor still gets an array */
            if (is_float_type(t->dtype))
                t->f = calloc(1, sizeof *t->f);
            else
                t->i = calloc(1, sizeof *t->i);
            if (!t->f && !t->i)
                ox_no_memory(ps);
        }
    }
    free(dims);
    free(ints);
    free(floats);
    return ps->failed ? -1 : 0;
}

void ox_tensor_release(ox_tensor *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->f);
    free(t->i);
    memset(t, 0, sizeof *t);
}

/* ---- Files -------------------------------------------------------------- */

/* A protobuf message is at most 2 GiB; anything larger, a FIFO or a
 * device is refused before reading (rsi_read_regular). */
#define OX_MAX_FILE_BYTES ((size_t)2 << 30)

void *ox_read_all(const char *path, size_t *len, char *err, size_t err_size)
{
    char *text = NULL;
    const char *why = NULL;
    if (rsi_read_regular(path, OX_MAX_FILE_BYTES, &text, len, &why) < 0) {
        snprintf(err, err_size, "%s", why);
        return NULL;
    }
    return text;
}

int ox_tensor_parse(ox_tensor *t, const void *data, size_t len, char *err,
                    size_t err_size)
{
    parse_state ps = {err, err_size, 0};
    memset(t, 0, sizeof *t);
    if (ox_parse_tensor(&ps, t, pb_open(data, len)) < 0) {
        ox_tensor_release(t);
        return -1;
    }
    return 0;
}

int ox_tensor_read(ox_tensor *t, const char *path, char *err, size_t err_size)
{
    size_t len = 0;
    void *data = ox_read_all(path, &len, err, err_size);
    if (!data) {
        memset(t, 0, sizeof *t);
        return -1;
    }
    const int rc = ox_tensor_parse(t, data, len, err, err_size);
    free(data);
    return rc;
}
