/* Tests: .npy reading/writing and the atomic file helpers it rests on. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "npy.h"
#include "rsicam/error.h"
#include "testkit.h"

/* ---- Helpers ----------------------------------------------------------------
 */

static const char *tmp_dir; /* this suite's scratch directory */

static void setup(void)
{
    tmp_dir = tk_scratch_open("npy");
}

/* Each test (a process of its own under Check) cleans up after itself. */
static void teardown(void)
{
    tk_scratch_close();
}

static const char *tmp_path(const char *name)
{
    return tk_path(name);
}

/* The call failed, said so once, named the file and had the right class. */
static void expect_failure(int rc, const char *path, rsi_error_class cls)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(rsi_error_pending(), "no message for %s", path);
    ck_assert_msg(strstr(rsi_error_message(), path) != NULL,
                  "message does not name %s: %s", path, rsi_error_message());
    ck_assert_int_eq(rsi_error_get_class(), cls);
    rsi_error_clear();
}

/* No "<name>.tmp.*" file is left in tmp_dir. */
static void expect_no_tmp_files(void)
{
    DIR *d = opendir(tmp_dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL,
                      "temporary file left behind: %s", e->d_name);
    closedir(d);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return buf;
}

/* The file at path holds exactly text. */
static void expect_contents(const char *path, const char *text)
{
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    ck_assert_uint_eq(n, strlen(text));
    ck_assert_int_eq(memcmp(b, text, n), 0);
    free(b);
}

static int contains(const unsigned char *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, s, k) == 0)
            return 1;
    return 0;
}

/* A .npy image in memory, built by hand as numpy would (or would not)
 * write it: version, dict text (padded to 64 bytes plus '\n' unless
 * raw_header), then the data bytes. */
typedef struct npybuf {
    unsigned char b[4096];
    size_t n;
} npybuf;

static void build(npybuf *f, int major, const char *dict, const void *data,
                  size_t data_len)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t dl = strlen(dict);
    size_t hl = dl + 1;
    hl += (64 - (pre + hl) % 64) % 64;
    memcpy(f->b, "\x93NUMPY", 6);
    f->b[6] = (unsigned char)major;
    f->b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        f->b[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(f->b + pre, dict, dl);
    memset(f->b + pre + dl, ' ', hl - dl - 1);
    f->b[pre + hl - 1] = '\n';
    memcpy(f->b + pre + hl, data, data_len);
    f->n = pre + hl + data_len;
}

static const float f4_vals[6] = {0.0f, -1.5f, 3.25f, 1e-30f, -0.0f, 65504.0f};
static const double f8_vals[6] = {0.5, -2.0, 1e10, 1e-300, 7.0, -0.125};

static const char *dict_23(const char *descr)
{
    static char d[256];
    snprintf(d, sizeof d,
             "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3), }",
             descr);
    return d;
}

/* ---- npy: writing and reading back ----------------------------------------
 */

START_TEST(round_trip_shapes)
{
    static const int64_t shapes[][4] = {
        {7}, {3, 5}, {2, 3, 4}, {2, 1, 3, 2}, {1, 1, 1, 1}};
    static const int ndims[] = {1, 2, 3, 4, 4};
    for (size_t s = 0; s < sizeof ndims / sizeof ndims[0]; s++) {
        int64_t count = 1;
        for (int d = 0; d < ndims[s]; d++)
            count *= shapes[s][d];
        float *v = malloc((size_t)count * sizeof *v);
        for (int64_t i = 0; i < count; i++)
            v[i] = (float)(i * 0.37 - 5.0) / 3.0f;
        v[0] = INFINITY;
        v[count - 1] = -0.0f;
        const char *p = tmp_path("rt.npy");
        ck_assert_msg(rsi_npy_write_f32(p, v, shapes[s], ndims[s]) == 0, "%s",
                      rsi_error_message());
        float *got = NULL;
        int64_t shape[RSI_MAX_DIMS];
        int nd = -1;
        ck_assert_msg(rsi_npy_read_f32(p, &got, shape, &nd) == 0, "%s",
                      rsi_error_message());
        ck_assert_int_eq(nd, ndims[s]);
        for (int d = 0; d < nd; d++)
            ck_assert_int_eq(shape[d], shapes[s][d]);
        /* exact, bit for bit (so -0.0 and inf survive too) */
        ck_assert_int_eq(memcmp(got, v, (size_t)count * sizeof *v), 0);
        free(got);
        free(v);
    }
    expect_no_tmp_files();
}
END_TEST

START_TEST(round_trip_scalar_and_empty)
{
    float x = 42.5f, *got = NULL;
    int64_t shape[RSI_MAX_DIMS];
    int nd = -1;
    const char *p = tmp_path("scalar.npy");
    ck_assert_int_eq(rsi_npy_write_f32(p, &x, NULL, 0), 0);
    ck_assert_int_eq(rsi_npy_read_f32(p, &got, shape, &nd), 0);
    ck_assert_int_eq(nd, 0);
    ck_assert_float_eq(got[0], 42.5f);
    free(got);

    int64_t empty[2] = {0, 5};
    p = tmp_path("empty.npy");
    ck_assert_int_eq(rsi_npy_write_f32(p, NULL, empty, 2), 0);
    got = NULL;
    ck_assert_int_eq(rsi_npy_read_f32(p, &got, shape, &nd), 0);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(nd, 2);
    ck_assert_int_eq(shape[0], 0);
    ck_assert_int_eq(shape[1], 5);
    free(got);
}
END_TEST

/* The header is byte for byte what numpy writes (np.save of a float32
 * array of shape (2, 3)), so numpy reads our files. */
START_TEST(header_is_numpys)
{
    float v[6] = {0};
    int64_t shape[2] = {2, 3};
    const char *p = tmp_path("hdr.npy");
    ck_assert_int_eq(rsi_npy_write_f32(p, v, shape, 2), 0);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    static const char expect[] =
        "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
        "'shape': (2, 3), }";
    ck_assert_int_eq(memcmp(b, expect, sizeof expect - 1), 0);
    ck_assert_uint_eq(n, 128 + 24);
    ck_assert_int_eq(b[127], '\n');
    free(b);

    int64_t one[1] = {6};
    ck_assert_int_eq(rsi_npy_write_f32(p, v, one, 1), 0);
    b = read_bytes(p, &n);
    ck_assert(contains(b, n, "'shape': (6,), }"));
    free(b);
}
END_TEST

START_TEST(reads_hand_built_f4_f8_v1_v2)
{
    for (int major = 1; major <= 3; major++) {
        for (int wide = 0; wide < 2; wide++) {
            npybuf f;
            if (wide)
                build(&f, major, dict_23("<f8"), f8_vals, sizeof f8_vals);
            else
                build(&f, major, dict_23("<f4"), f4_vals, sizeof f4_vals);
            const char *p = tmp_path("hand.npy");
            write_bytes(p, f.b, f.n);
            float *got = NULL;
            int64_t shape[RSI_MAX_DIMS];
            int nd = 0;
            ck_assert_msg(rsi_npy_read_f32(p, &got, shape, &nd) == 0, "%s",
                          rsi_error_message());
            ck_assert_int_eq(nd, 2);
            ck_assert_int_eq(shape[0], 2);
            ck_assert_int_eq(shape[1], 3);
            for (int i = 0; i < 6; i++)
                ck_assert_float_eq(got[i],
                                   wide ? (float)f8_vals[i] : f4_vals[i]);
            free(got);
        }
    }
}
END_TEST

/* Other spellings numpy (or Python 2 numpy) produces. */
START_TEST(reads_header_variants)
{
    static const char *dicts[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}",
        "{'shape': (6L,), 'fortran_order': False, 'descr': '<f4'}",
        "{'descr':'<f4','fortran_order':False,'shape':(1,6,),}",
    };
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        npybuf f;
        build(&f, 1, dicts[i], f4_vals, sizeof f4_vals);
        float *got = NULL;
        int64_t shape[RSI_MAX_DIMS];
        int nd = 0;
        ck_assert_msg(
            rsi_npy_parse_f32(f.b, f.n, "variant", &got, shape, &nd) == 0,
            "%s: %s", dicts[i], rsi_error_message());
        ck_assert_int_eq(shape[nd - 1], 6);
        free(got);
    }
}
END_TEST

/* ---- npy: malformed files
 * ---------------------------------------------------- */

static void expect_bad_file(const npybuf *f, const char *name,
                            const char *words)
{
    const char *p = tmp_path(name);
    write_bytes(p, f->b, f->n);
    float *got = (float *)0x1;
    int64_t shape[RSI_MAX_DIMS];
    int nd = -7;
    int rc = rsi_npy_read_f32(p, &got, shape, &nd);
    if (rc == -1 && strstr(rsi_error_message(), words) == NULL)
        ck_abort_msg("%s: expected '%s' in: %s", name, words,
                     rsi_error_message());
    expect_failure(rc, p, RSI_ERR_INPUT);
    ck_assert_ptr_eq(got, (float *)0x1); /* outputs untouched */
    ck_assert_int_eq(nd, -7);
    /* the in-memory parser agrees */
    ck_assert_int_eq(rsi_npy_parse_f32(f->b, f->n, p, &got, shape, &nd), -1);
    ck_assert(strstr(rsi_error_message(), p) != NULL);
    rsi_error_clear();
}

START_TEST(rejects_malformed)
{
    npybuf f;
    build(&f, 1, dict_23("<f4"), f4_vals, sizeof f4_vals);
    npybuf g = f;
    g.b[1] = 'X';
    expect_bad_file(&g, "magic.npy", "bad magic");

    g = f;
    g.n = 40; /* inside the header */
    expect_bad_file(&g, "trunc_header.npy", "truncated header");

    g = f;
    g.n = 9; /* inside the header length */
    expect_bad_file(&g, "trunc_len.npy", "truncated");

    g = f;
    g.n -= 5;
    expect_bad_file(&g, "trunc_data.npy", "truncated data");

    g = f;
    g.b[g.n++] = 0; /* one byte too many */
    expect_bad_file(&g, "trailing.npy", "size mismatch");

    g = f;
    g.b[6] = 4;
    expect_bad_file(&g, "version.npy", "version 4.0");

    build(&g, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "fortran.npy", "Fortran");

    build(&g, 1, dict_23(">f4"), f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "big_endian.npy", "big-endian");

    build(&g, 1, dict_23("<i4"), f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "dtype.npy", "unsupported dtype '<i4'");

    build(&g, 1,
          "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "structured.npy", "structured");

    build(&g, 1,
          "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, "
          "100000), }",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "huge.npy", "absurd");

    build(&g, 1,
          "{'descr': '<f4', 'fortran_order': False, 'shape': "
          "(99999999999999999999999999,), }",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "overflow.npy", "absurd");

    build(&g, 1,
          "{'descr': '<f4', 'fortran_order': False, 'shape': "
          "(1,1,1,1,1,1,1,1,6), }",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "dims.npy", "too many dimensions");

    build(&g, 1, "{'descr': '<f4', 'shape': (2, 3), }", f4_vals,
          sizeof f4_vals);
    expect_bad_file(&g, "nokey.npy", "lacks 'fortran_order'");

    build(&g, 1,
          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
          "'x': 1}",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "extrakey.npy", "unexpected key");

    build(&g, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
          f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "negative.npy", "bad shape");

    build(&g, 1, "not a dict at all", f4_vals, sizeof f4_vals);
    expect_bad_file(&g, "nodict.npy", "malformed header");

    g.n = 0;
    expect_bad_file(&g, "zero.npy", "empty");
}
END_TEST

START_TEST(rejects_missing_and_directory)
{
    float *got = NULL;
    int64_t shape[RSI_MAX_DIMS];
    int nd;
    const char *p = tmp_path("does-not-exist.npy");
    expect_failure(rsi_npy_read_f32(p, &got, shape, &nd), p, RSI_ERR_INPUT);
    expect_failure(rsi_npy_read_f32(tmp_dir, &got, shape, &nd), tmp_dir,
                   RSI_ERR_INPUT);
}
END_TEST

/* Every proper prefix of a valid file is invalid (the data size must match
 * exactly) and must fail cleanly; run under a sanitizer this also proves
 * that no read goes past the end. */
START_TEST(every_prefix_fails_cleanly)
{
    npybuf files[4];
    build(&files[0], 1, dict_23("<f4"), f4_vals, sizeof f4_vals);
    build(&files[1], 2, dict_23("<f8"), f8_vals, sizeof f8_vals);
    build(&files[2], 3, dict_23("<f4"), f4_vals, sizeof f4_vals);
    build(&files[3], 1,
          "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", f8_vals,
          sizeof f8_vals);
    for (int k = 0; k < 4; k++) {
        for (size_t len = 0; len < files[k].n; len++) {
            /* a copy of exactly len bytes, so tools see any overread */
            unsigned char *b = malloc(len ? len : 1);
            memcpy(b, files[k].b, len);
            float *got = NULL;
            int64_t shape[RSI_MAX_DIMS];
            int nd;
            int rc = rsi_npy_parse_f32(b, len, "prefix", &got, shape, &nd);
            ck_assert_msg(rc == -1, "prefix %zu of file %d accepted", len, k);
            ck_assert(strstr(rsi_error_message(), "'prefix'") != NULL);
            rsi_error_clear();
            free(b);
        }
        float *got = NULL;
        int64_t shape[RSI_MAX_DIMS];
        int nd;
        ck_assert_int_eq(
            rsi_npy_parse_f32(files[k].b, files[k].n, "x", &got, shape, &nd),
            0);
        free(got);
    }
}
END_TEST

/* Random byte damage anywhere: never a crash, and a success only with a
 * consistent result. */
START_TEST(random_damage_never_crashes)
{
    npybuf f;
    build(&f, 1, dict_23("<f8"), f8_vals, sizeof f8_vals);
    uint32_t seed = 12345;
    for (int trial = 0; trial < 20000; trial++) {
        unsigned char *b = malloc(f.n);
        memcpy(b, f.b, f.n);
        int flips = 1 + trial % 4;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = (seed >> 8) % f.n;
            seed = seed * 1664525u + 1013904223u;
            b[at] = (unsigned char)(seed >> 24);
        }
        seed = seed * 1664525u + 1013904223u;
        size_t len = trial % 3 ? f.n : (seed >> 8) % (f.n + 1);
        float *got = NULL;
        int64_t shape[RSI_MAX_DIMS];
        int nd = -1;
        int rc = rsi_npy_parse_f32(b, len, "fuzz", &got, shape, &nd);
        if (rc == 0) {
            ck_assert(nd >= 0 && nd <= RSI_MAX_DIMS);
            free(got);
        } else {
            ck_assert_int_eq(rc, -1);
            ck_assert(rsi_error_pending());
            rsi_error_clear();
        }
        free(b);
    }
}
END_TEST

START_TEST(write_rejects_bad_arguments)
{
    float v[2] = {1, 2};
    int64_t neg[1] = {-2};
    const char *p = tmp_path("bad.npy");
    expect_failure(rsi_npy_write_f32(p, v, neg, 1), p, RSI_ERR_INTERNAL);
    int64_t s[1] = {2};
    expect_failure(rsi_npy_write_f32(p, v, s, RSI_MAX_DIMS + 1), p,
                   RSI_ERR_INTERNAL);
    expect_failure(rsi_npy_write_f32(p, NULL, s, 1), p, RSI_ERR_INTERNAL);
    ck_assert_int_eq(access(p, F_OK), -1);
}
END_TEST

/* ---- fileio
 * ----------------------------------------------------------------------- */

START_TEST(atomic_write_and_replace)
{
    const char *p = tmp_path("a.txt");
    ck_assert_int_eq(rsi_write_file_atomic(p, "hello", 5), 0);
    ck_assert_int_eq(rsi_write_file_atomic(p, "bye", 3), 0);
    expect_contents(p, "bye");
    /* permissions follow the umask like any new file, not mkstemp's 0600 */
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    mode_t mask = umask(022);
    umask(mask);
    ck_assert_int_eq(st.st_mode & 0777, 0666 & ~mask);
    expect_no_tmp_files();
}
END_TEST

START_TEST(atomic_write_unwritable_places)
{
    /* a directory that does not exist, and a "directory" that is a file:
     * both fail even for root */
    char p[4096];
    snprintf(p, sizeof p, "%s/no/such/dir/x.bin", tmp_dir);
    expect_failure(rsi_write_file_atomic(p, "x", 1), p, RSI_ERR_OUTPUT);
    const char *file = tmp_path("plain");
    ck_assert_int_eq(rsi_write_file_atomic(file, "x", 1), 0);
    snprintf(p, sizeof p, "%s/x.bin", file);
    expect_failure(rsi_write_file_atomic(p, "x", 1), p, RSI_ERR_OUTPUT);

    if (geteuid() != 0) {
        const char *ro = tmp_path("ro");
        ck_assert_int_eq(rsi_mkdir_p(ro), 0);
        ck_assert_int_eq(chmod(ro, 0555), 0);
        snprintf(p, sizeof p, "%s/x.bin", ro);
        expect_failure(rsi_write_file_atomic(p, "x", 1), p, RSI_ERR_OUTPUT);
        chmod(ro, 0755);
        DIR *d = opendir(ro);
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            ck_assert(e->d_name[0] == '.');
        closedir(d);
    }
    expect_no_tmp_files();
}
END_TEST

/* A full disk, simulated by a file size limit: the write or the flush
 * fails with EFBIG, the commit reports it, the old file survives and no
 * temporary file remains. */
START_TEST(commit_failure_on_full_disk)
{
    const char *p = tmp_path("full.bin");
    ck_assert_int_eq(rsi_write_file_atomic(p, "old", 3), 0);

    struct rlimit old;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);

    size_t n = 100000;
    char *big = malloc(n);
    memset(big, 'z', n);
    int rc = rsi_write_file_atomic(p, big, n);
    /* through the FILE* path too: fwrite buffers, the error shows at
     * flush or close */
    rsi_error_clear();
    rsi_atomic_file f;
    ck_assert_int_eq(rsi_atomic_open(&f, p), 0);
    fwrite(big, 1, 4000, f.fp);
    fwrite(big, 1, 4000, f.fp);
    int rc2 = rsi_atomic_commit(&f);
    const char *msg = rsi_error_message();
    int named = strstr(msg, p) != NULL;
    int cls = rsi_error_get_class();

    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    free(big);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(rc2, -1);
    ck_assert(named);
    ck_assert_int_eq(cls, RSI_ERR_OUTPUT);
    rsi_error_clear();
    ck_assert_ptr_null(f.tmp_path);

    expect_contents(p, "old");
    expect_no_tmp_files();
}
END_TEST

/* rename() fails when the target is a directory: the temporary goes. */
START_TEST(commit_failure_on_rename)
{
    const char *p = tmp_path("isdir");
    ck_assert_int_eq(rsi_mkdir_p(p), 0);
    expect_failure(rsi_write_file_atomic(p, "x", 1), p, RSI_ERR_OUTPUT);
    expect_no_tmp_files();
}
END_TEST

/* commit_new places a new file, and where the name was taken after the
 * open (by another writer, say) it fails and leaves that file alone. */
START_TEST(commit_new_never_replaces)
{
    const char *p = tmp_path("new.txt");
    rsi_atomic_file f;
    ck_assert_int_eq(rsi_atomic_open(&f, p), 0);
    fputs("first", f.fp);
    ck_assert_int_eq(rsi_atomic_commit_new(&f), 0);

    ck_assert_int_eq(rsi_atomic_open(&f, p), 0);
    fputs("second", f.fp);
    expect_failure(rsi_atomic_commit_new(&f), p, RSI_ERR_OUTPUT);
    expect_contents(p, "first");
    expect_no_tmp_files();
}
END_TEST

START_TEST(abort_leaves_nothing)
{
    const char *p = tmp_path("aborted.bin");
    rsi_atomic_file f;
    ck_assert_int_eq(rsi_atomic_open(&f, p), 0);
    fputs("partial", f.fp);
    rsi_atomic_abort(&f);
    rsi_atomic_abort(&f); /* twice is harmless */
    ck_assert_int_eq(access(p, F_OK), -1);
    expect_no_tmp_files();
}
END_TEST

/* Several processes append long lines at once; every line arrives whole. */
START_TEST(append_lines_never_interleave)
{
    const char *p = tmp_path("log.txt");
    enum { procs = 4, lines = 200, width = 300 };
    for (int k = 0; k < procs; k++) {
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            char line[width + 1];
            memset(line, 'a' + k, width);
            line[width] = '\0';
            for (int i = 0; i < lines; i++)
                if (rsi_append_line(p, line) != 0)
                    _exit(1);
            _exit(0);
        }
    }
    for (int k = 0; k < procs; k++) {
        int status;
        wait(&status);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    ck_assert_uint_eq(n, (size_t)procs * lines * (width + 1));
    for (size_t i = 0; i < n; i += width + 1) {
        for (int c = 1; c < width; c++)
            ck_assert_int_eq(b[i + c], b[i]);
        ck_assert_int_eq(b[i + width], '\n');
    }
    free(b);

    char bad[2048];
    snprintf(bad, sizeof bad, "%s/no/such/log.txt", tmp_dir);
    expect_failure(rsi_append_line(bad, "x"), bad, RSI_ERR_OUTPUT);
}
END_TEST

START_TEST(mkdir_p_cases)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/m/a//b/c/", tmp_dir);
    ck_assert_msg(rsi_mkdir_p(p) == 0, "%s", rsi_error_message());
    ck_assert_int_eq(rsi_mkdir_p(p), 0); /* exists: fine */
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));

    const char *file = tmp_path("m/file");
    ck_assert_int_eq(rsi_write_file_atomic(file, "x", 1), 0);
    expect_failure(rsi_mkdir_p(file), file, RSI_ERR_OUTPUT);
    snprintf(p, sizeof p, "%s/below", file);
    expect_failure(rsi_mkdir_p(p), p, RSI_ERR_OUTPUT);
    expect_failure(rsi_mkdir_p(""), "", RSI_ERR_OUTPUT);
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_shapes);
    tcase_add_test(tc, round_trip_scalar_and_empty);
    tcase_add_test(tc, header_is_numpys);
    tcase_add_test(tc, reads_hand_built_f4_f8_v1_v2);
    tcase_add_test(tc, reads_header_variants);
    tcase_add_test(tc, rejects_malformed);
    tcase_add_test(tc, rejects_missing_and_directory);
    tcase_add_test(tc, every_prefix_fails_cleanly);
    tcase_add_test(tc, random_damage_never_crashes);
    tcase_add_test(tc, write_rejects_bad_arguments);
    suite_add_tcase(s, tc);

    TCase *io = tcase_create("fileio");
    tcase_add_checked_fixture(io, setup, teardown);
    tcase_add_test(io, atomic_write_and_replace);
    tcase_add_test(io, atomic_write_unwritable_places);
    tcase_add_test(io, commit_failure_on_full_disk);
    tcase_add_test(io, commit_failure_on_rename);
    tcase_add_test(io, commit_new_never_replaces);
    tcase_add_test(io, abort_leaves_nothing);
    tcase_add_test(io, append_lines_never_interleave);
    tcase_add_test(io, mkdir_p_cases);
    suite_add_tcase(s, io);
    return s;
}

int main(void)
{
    return tk_run(npy_suite());
}
