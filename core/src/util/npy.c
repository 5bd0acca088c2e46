/* rsicam — NumPy .npy reading and writing (float32 out; f4/f8 in).
 *
 * Format reference: numpy/lib/format.py. A file is the magic "\x93NUMPY",
 * a version byte pair, a little-endian header length (2 bytes in 1.0, 4 in
 * 2.0/3.0), a Python dict literal padded with spaces and ended by '\n', and
 * the raw data. The dict is parsed by a small bounded tokenizer, not by
 * anything resembling eval: every read is checked against the buffer end.
 */

#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "rsicam/error.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* What the header says. */
typedef struct npy_header {
    int itemsize; /* 4 ('<f4') or 8 ('<f8') */
    int ndim;
    int64_t shape[RSI_MAX_DIMS];
    int64_t count;
    size_t data_offset; /* first byte after the header */
} npy_header;

static int bad(const char *name, const char *fmt, ...) RSI_PRINTF(2, 3);

static int bad(const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rsi_error_class_set(RSI_ERR_INPUT, "npy file '%s': %s",
                        name ? name : "(memory)", msg);
    return -1;
}

/* Bytes from the file, made safe to print in a message. */
static const char *printable(const char *s, size_t n, char out[40])
{
    size_t j = 0;
    for (size_t i = 0; i < n && j < 32; i++)
        out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > 32) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
    return out;
}

/* ---- The preamble: magic, version, header length ----------------------- */

/* Checks the magic and version and decodes the header length; whether that
 * many bytes follow is for the caller to check (against a buffer or a file
 * size). */
static int parse_preamble(const unsigned char *buf, size_t n, const char *name,
                          size_t *header_start, size_t *header_len)
{
    size_t m = n < sizeof npy_magic ? n : sizeof npy_magic;
    if (memcmp(buf, npy_magic, m) != 0)
        return bad(name, "not a .npy file (bad magic)");
    if (n < 8)
        return bad(name, "truncated (%zu bytes, no complete preamble)", n);
    int major = buf[6], minor = buf[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return bad(name, "unsupported .npy format version %d.%d", major, minor);
    size_t lenbytes = major == 1 ? 2 : 4;
    if (n < 8 + lenbytes)
        return bad(name, "truncated header length");
    uint32_t len = 0;
    for (size_t i = 0; i < lenbytes; i++)
        len |= (uint32_t)buf[8 + i] << (8 * i);
    *header_start = 8 + lenbytes;
    *header_len = len;
    return 0;
}

/* ---- The header dict ---------------------------------------------------- */

typedef struct cursor {
    const char *s;
    size_t n, i;
    const char *name;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
                           c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static int peek(cursor *c)
{
    skip_ws(c);
    return c->i < c->n ? (unsigned char)c->s[c->i] : -1;
}

static int expect(cursor *c, char ch, const char *where)
{
    if (peek(c) != (unsigned char)ch)
        return bad(c->name, "malformed header: expected '%c' %s", ch, where);
    c->i++;
    return 0;
}

/* A quoted string without escapes (numpy never writes any in a header). */
static int parse_string(cursor *c, const char **str, size_t *len)
{
    int q = peek(c);
    if (q != '\'' && q != '"')
        return bad(c->name, "malformed header: expected a quoted string");
    size_t start = ++c->i;
    while (c->i < c->n && c->s[c->i] != q) {
        if (c->s[c->i] == '\\' || c->s[c->i] == '\n')
            return bad(c->name, "malformed header: bad string");
        c->i++;
    }
    if (c->i >= c->n)
        return bad(c->name, "malformed header: unterminated string");
    *str = c->s + start;
    *len = c->i - start;
    c->i++;
    return 0;
}

static int match_word(cursor *c, const char *w)
{
    size_t k = strlen(w);
    if (c->n - c->i >= k && memcmp(c->s + c->i, w, k) == 0) {
        c->i += k;
        return 1;
    }
    return 0;
}

static int parse_bool(cursor *c, int *v)
{
    peek(c);
    if (match_word(c, "True"))
        *v = 1;
    else if (match_word(c, "False"))
        *v = 0;
    else
        return bad(c->name, "malformed header: fortran_order is not "
                            "True or False");
    return 0;
}

/* A non-negative dimension. Anything above the element limit is refused
 * here, which also keeps the later products far from overflow. */
static int parse_dim(cursor *c, int64_t *v)
{
    skip_ws(c);
    int64_t x = 0;
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        x = x * 10 + (c->s[c->i] - '0');
        if (x > RSI_NPY_MAX_ELEMENTS)
            return bad(c->name, "absurd shape: a dimension exceeds %lld",
                       (long long)RSI_NPY_MAX_ELEMENTS);
        c->i++;
    }
    if (c->i == start)
        return bad(c->name, "malformed header: bad shape (expected a "
                            "non-negative integer)");
    if (c->i < c->n && c->s[c->i] == 'L') /* written by Python 2 numpy */
        c->i++;
    *v = x;
    return 0;
}

/* "()", "(3,)", "(3, 4)", tolerating a trailing comma and "(3)". */
static int parse_shape(cursor *c, npy_header *h)
{
    if (expect(c, '(', "to open the shape") != 0)
        return -1;
    h->ndim = 0;
    if (peek(c) == ')') {
        c->i++;
        return 0;
    }
    for (;;) {
        if (h->ndim == RSI_MAX_DIMS)
            return bad(c->name, "too many dimensions (at most %d)",
                       RSI_MAX_DIMS);
        if (parse_dim(c, &h->shape[h->ndim]) != 0)
            return -1;
        h->ndim++;
        int ch = peek(c);
        if (ch == ')') {
            c->i++;
            return 0;
        }
        if (ch != ',')
            return bad(c->name, "malformed header: bad shape");
        c->i++;
        if (peek(c) == ')') {
            c->i++;
            return 0;
        }
    }
}

static int parse_descr(cursor *c, npy_header *h)
{
    if (peek(c) == '[')
        return bad(c->name, "structured dtypes are not supported (only "
                            "'<f4' and '<f8')");
    const char *s;
    size_t len;
    if (parse_string(c, &s, &len) != 0)
        return -1;
    char shown[40];
    if (len == 3 && memcmp(s, "<f4", 3) == 0)
        h->itemsize = 4;
    else if (len == 3 && memcmp(s, "<f8", 3) == 0)
        h->itemsize = 8;
    else if (len >= 1 && s[0] == '>')
        return bad(c->name, "big-endian data ('%s') is not supported",
                   printable(s, len, shown));
    else
        return bad(c->name,
                   "unsupported dtype '%s' (only '<f4' float32 and '<f8' "
                   "float64)",
                   printable(s, len, shown));
    return 0;
}

static int parse_dict(const char *s, size_t n, const char *name, npy_header *h)
{
    cursor c = {s, n, 0, name};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    if (expect(&c, '{', "at the start of the header") != 0)
        return -1;
    while (peek(&c) != '}') {
        const char *key;
        size_t klen;
        char shown[40];
        if (parse_string(&c, &key, &klen) != 0 ||
            expect(&c, ':', "after a key") != 0)
            return -1;
        int *seen;
        int rc;
        if (klen == 5 && memcmp(key, "descr", 5) == 0) {
            seen = &have_descr;
            rc = parse_descr(&c, h);
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
            seen = &have_order;
            rc = parse_bool(&c, &fortran);
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0) {
            seen = &have_shape;
            rc = parse_shape(&c, h);
        } else {
            return bad(name, "unexpected key '%s' in header",
                       printable(key, klen, shown));
        }
        if (rc != 0)
            return -1;
        if (*seen)
            return bad(name, "key '%s' repeated in header",
                       printable(key, klen, shown));
        *seen = 1;
        int ch = peek(&c);
        if (ch == ',')
            c.i++;
        else if (ch != '}')
            return bad(name, "malformed header: expected ',' or '}'");
    }
    c.i++;
    skip_ws(&c); /* numpy pads with spaces up to the '\n' */
    if (c.i != c.n)
        return bad(name, "malformed header: text after the dict");
    if (!have_descr || !have_order || !have_shape)
        return bad(name, "header lacks '%s'",
                   !have_descr ? "descr"
                               : (!have_order ? "fortran_order" : "shape"));
    if (fortran)
        return bad(name, "Fortran-order arrays are not supported (save a "
                         "C-order array, e.g. np.ascontiguousarray)");
    return 0;
}

/* Preamble + dict; fills everything but the data. */
static int parse_header(const unsigned char *buf, size_t n, const char *name,
                        npy_header *h)
{
    size_t start, len;
    if (parse_preamble(buf, n, name, &start, &len) != 0)
        return -1;
    if (len > n - start)
        return bad(name, "truncated header (%zu bytes announced, %zu present)",
                   len, n - start);
    if (parse_dict((const char *)buf + start, len, name, h) != 0)
        return -1;
    h->data_offset = start + len;
    /* Each dimension is <= 2^31, so checking the running product after
     * every step keeps it below 2^62: no overflow is possible. */
    int64_t count = 1;
    for (int d = 0; d < h->ndim; d++)
        if (h->shape[d] == 0)
            count = 0;
    for (int d = 0; d < h->ndim && count != 0; d++) {
        count *= h->shape[d];
        if (count > RSI_NPY_MAX_ELEMENTS)
            return bad(name, "absurd shape: more than %lld elements",
                       (long long)RSI_NPY_MAX_ELEMENTS);
    }
    h->count = count;
    return 0;
}

/* ---- Data ---------------------------------------------------------------- */

static float load_f4(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float load_f8(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &u, sizeof d);
    return (float)d;
}

int rsi_npy_parse_f32(const unsigned char *buf, size_t n,
                      const char *name_for_errors, float **data, int64_t *shape,
                      int *ndim)
{
    const char *name = name_for_errors;
    npy_header h;
    if (!buf)
        n = 0;
    if (parse_header(buf ? buf : (const unsigned char *)"", n, name, &h) != 0)
        return -1;
    uint64_t need = (uint64_t)h.count * (uint64_t)h.itemsize;
    uint64_t have = (uint64_t)(n - h.data_offset);
    if (have < need)
        return bad(name, "truncated data (%llu bytes, the shape needs %llu)",
                   (unsigned long long)have, (unsigned long long)need);
    if (have > need)
        return bad(name,
                   "size mismatch: %llu bytes of data, the shape needs %llu",
                   (unsigned long long)have, (unsigned long long)need);
    if ((uint64_t)h.count > SIZE_MAX / sizeof(float))
        return bad(name, "too large for this machine");
    size_t count = (size_t)h.count;
    float *out = malloc(count ? count * sizeof(float) : 1);
    if (!out)
        return bad(name, "out of memory for %zu elements", count);
    const unsigned char *p = buf + h.data_offset;
    if (h.itemsize == 4)
        for (size_t i = 0; i < count; i++)
            out[i] = load_f4(p + 4 * i);
    else
        for (size_t i = 0; i < count; i++)
            out[i] = load_f8(p + 8 * i);
    *data = out;
    for (int d = 0; d < h.ndim; d++)
        shape[d] = h.shape[d];
    *ndim = h.ndim;
    return 0;
}

/* ---- Files -----------------------------------------------------------------
 */

/* Reads up to len bytes at off; returns the count read (short at EOF), or -1
 * with errno set. */
static ssize_t read_at(int fd, unsigned char *buf, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads the header first and checks the data size against the file size,
 * so an absurd or mismatched file is refused before anything big is read. */
int rsi_npy_read_f32(const char *path, float **data, int64_t *shape, int *ndim)
{
    /* O_NONBLOCK: opening a FIFO must not hang; no effect on files. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return bad(path, "%s", strerror(errno));
    unsigned char *buf = NULL;
    int rc = -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        bad(path, "%s", strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        bad(path, "is a directory");
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        bad(path, "not a regular file");
        goto done;
    }
    if (st.st_size == 0) {
        bad(path, "empty file");
        goto done;
    }
    size_t size =
        (uint64_t)st.st_size > SIZE_MAX ? SIZE_MAX : (size_t)st.st_size;

    unsigned char pre[12];
    ssize_t got = read_at(fd, pre, sizeof pre, 0);
    if (got < 0) {
        bad(path, "%s", strerror(errno));
        goto done;
    }
    size_t start, len;
    if (parse_preamble(pre, (size_t)got, path, &start, &len) != 0)
        goto done;
    if (start > size || len > size - start) {
        bad(path, "truncated header (%zu bytes announced, file has %zu)", len,
            size);
        goto done;
    }
    size_t hdr_end = start + len;
    buf = malloc(hdr_end);
    if (!buf) {
        bad(path, "out of memory");
        goto done;
    }
    if (read_at(fd, buf, hdr_end, 0) != (ssize_t)hdr_end) {
        bad(path, "read error or file shrank while reading");
        goto done;
    }
    npy_header h;
    if (parse_header(buf, hdr_end, path, &h) != 0)
        goto done;
    uint64_t need = (uint64_t)h.count * (uint64_t)h.itemsize;
    uint64_t have = (uint64_t)(size - hdr_end);
    if (have != need) {
        bad(path, "%s (%llu bytes of data, the shape needs %llu)",
            have < need ? "truncated data" : "size mismatch",
            (unsigned long long)have, (unsigned long long)need);
        goto done;
    }
    unsigned char *whole = realloc(buf, size);
    if (!whole) {
        bad(path, "out of memory for %zu bytes", size);
        goto done;
    }
    buf = whole;
    got = read_at(fd, buf + hdr_end, size - hdr_end, (off_t)hdr_end);
    if (got != (ssize_t)(size - hdr_end)) {
        bad(path, "read error or file shrank while reading");
        goto done;
    }
    rc = rsi_npy_parse_f32(buf, size, path, data, shape, ndim);
done:
    free(buf);
    close(fd);
    return rc;
}

/* ---- Writing ----------------------------------------------------------------
 */

int rsi_npy_write_f32(const char *path, const float *data, const int64_t *shape,
                      int ndim)
{
    if (ndim < 0 || ndim > RSI_MAX_DIMS || (ndim > 0 && !shape)) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "cannot write '%s': bad number of dimensions %d",
                            path, ndim);
        return -1;
    }
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || shape[d] > RSI_NPY_MAX_ELEMENTS) {
            rsi_error_class_set(RSI_ERR_INTERNAL,
                                "cannot write '%s': bad dimension %lld", path,
                                (long long)shape[d]);
            return -1;
        }
        count *= shape[d];
        if (count > RSI_NPY_MAX_ELEMENTS) {
            rsi_error_class_set(RSI_ERR_INTERNAL,
                                "cannot write '%s': more than %lld elements",
                                path, (long long)RSI_NPY_MAX_ELEMENTS);
            return -1;
        }
    }
    if (count > 0 && !data) {
        rsi_error_class_set(RSI_ERR_INTERNAL, "cannot write '%s': no data",
                            path);
        return -1;
    }

    /* Header text exactly as numpy writes it, padded so that the data
     * starts at a multiple of 64 bytes. */
    char hdr[512];
    int len = snprintf(hdr, sizeof hdr,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int d = 0; d < ndim; d++)
        len += snprintf(hdr + len, sizeof hdr - (size_t)len, "%s%lld",
                        d ? ", " : "", (long long)shape[d]);
    len += snprintf(hdr + len, sizeof hdr - (size_t)len, "%s), }",
                    ndim == 1 ? "," : "");
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    memset(hdr + len, ' ', (size_t)pad);
    len += pad;
    hdr[len++] = '\n';

    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(len & 0xff),
                             (unsigned char)(len >> 8)};
    rsi_atomic_file f;
    if (rsi_atomic_open(&f, path) != 0)
        return -1;
    fwrite(pre, 1, sizeof pre, f.fp);
    fwrite(hdr, 1, (size_t)len, f.fp);
    /* Byte by byte into little-endian order, so big-endian hosts write the
     * same file; chunked to keep fwrite calls few. */
    unsigned char chunk[4096 * 4];
    size_t k = 0;
    for (int64_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &data[i], sizeof u);
        chunk[k++] = (unsigned char)u;
        chunk[k++] = (unsigned char)(u >> 8);
        chunk[k++] = (unsigned char)(u >> 16);
        chunk[k++] = (unsigned char)(u >> 24);
        if (k == sizeof chunk) {
            fwrite(chunk, 1, k, f.fp);
            k = 0;
        }
    }
    if (k)
        fwrite(chunk, 1, k, f.fp);
    /* Write errors set the stream's error flag, which commit checks. */
    return rsi_atomic_commit(&f);
}
