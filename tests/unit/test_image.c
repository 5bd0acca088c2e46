/* Tests: reading images of every common kind, refusing broken ones, and
 * writing PNGs. Test images are made here with libvips itself. */

#include <check.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "fileio.h"
#include "image.h"
#include "rsicam/error.h"
#include "testkit.h"

/* ---- Helpers ----------------------------------------------------------------
 */

static const char *tmp_dir; /* this suite's scratch directory */

static void setup(void)
{
    tmp_dir = tk_scratch_open("image");
    ck_assert_int_eq(rsi_vips_init(), 0);
}

static void teardown(void)
{
    tk_scratch_close();
}

static const char *tmp_path(const char *name)
{
    return tk_path(name);
}

static void expect_failure(int rc, const char *path, const char *words)
{
    ck_assert_int_eq(rc, -1);
    const char *m = rsi_error_message();
    ck_assert_msg(strstr(m, path) != NULL, "message does not name %s: %s", path,
                  m);
    ck_assert_msg(!words || strstr(m, words) != NULL, "expected '%s' in: %s",
                  words, m);
    ck_assert_msg(strchr(m, '\n') == NULL, "not one line: %s", m);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    rsi_error_clear();
}

/* Saves pixels (w x h x bands of fmt) as tagged; the suffix of path picks
 * the format (".png" writes 16 bits for ushort data). */
static void save(const char *path, const void *pix, int w, int h, int bands,
                 VipsBandFormat fmt, VipsInterpretation interp)
{
    size_t size = (size_t)w * h * bands * vips_format_sizeof(fmt);
    VipsImage *m = vips_image_new_from_memory_copy(pix, size, w, h, bands, fmt);
    ck_assert_ptr_nonnull(m);
    VipsImage *c = NULL;
    ck_assert_int_eq(vips_copy(m, &c, "interpretation", interp, NULL), 0);
    int rc = vips_image_write_to_file(c, path, NULL);
    ck_assert_msg(rc == 0, "saving %s: %s", path, vips_error_buffer());
    g_object_unref(c);
    g_object_unref(m);
}

/* A w x h RGB8 picture of noise (compresses badly: long data segments). */
static uint8_t *noise_rgb8(int w, int h)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    uint32_t s = 7;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (uint8_t)(s >> 24);
    }
    return p;
}

static void fill_u8(uint8_t *p, size_t n, const uint8_t *px, int bands)
{
    for (size_t i = 0; i < n; i++)
        memcpy(p + i * bands, px, (size_t)bands);
}

static void read_ok(const char *path, int w, int h, rsi_image *img)
{
    ck_assert_msg(rsi_image_read(path, w, h, img) == 0, "%s",
                  rsi_error_message());
    ck_assert_ptr_nonnull(img->data);
}

/* Every value of img is within tol of rgb. */
static void expect_constant(const rsi_image *img, double r, double g, double b,
                            double tol)
{
    double want[3] = {r, g, b};
    for (size_t i = 0; i < (size_t)img->width * img->height; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_msg(fabs(img->data[3 * i + c] - want[c]) <= tol,
                          "pixel %zu band %d: %g, want %g", i, c,
                          img->data[3 * i + c], want[c]);
}

static void truncate_to(const char *path, double fraction)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, (off_t)(st.st_size * fraction)), 0);
}

/* ---- Reading
 * ----------------------------------------------------------------- */

/* 3 x 2 RGB pixels, row by row, for the exact reads */
static const uint8_t rgb_3x2[2 * 3 * 3] = {
    0, 128, 255, 10, 20, 30, 1, 2, 3, 200, 100, 50, 0, 0, 0, 255, 255, 255};

START_TEST(rgb8_png_exact)
{
    const uint8_t *px = rgb_3x2;
    const char *p = tmp_path("rgb.png");
    save(p, px, 3, 2, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width, 3);
    ck_assert_int_eq(img.height, 2);
    for (int i = 0; i < 18; i++)
        ck_assert_float_eq_tol(img.data[i], px[i] / 255.0f, 1e-6f);
    uint8_t back[18];
    rsi_image_to_rgb8(&img, back);
    ck_assert_int_eq(memcmp(back, px, 18), 0);
    rsi_image_release(&img);
    ck_assert_ptr_null(img.data);
}
END_TEST

START_TEST(png16_scaled_to_unit)
{
    uint16_t px[2 * 3] = {65535, 32768, 0, 257, 1000, 65535};
    const char *p = tmp_path("rgb16.png");
    save(p, px, 2, 1, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(img.data[i], px[i] / 65535.0f, 1e-6f);
    rsi_image_release(&img);

    /* 16-bit grey with alpha */
    uint16_t ga[2 * 2] = {40000, 65535, 40000, 0};
    p = tmp_path("ga16.png");
    save(p, ga, 2, 1, 2, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_GREY16);
    read_ok(p, 0, 0, &img);
    for (int c = 0; c < 3; c++) {
        ck_assert_float_eq_tol(img.data[c], 40000 / 65535.0f, 1e-4f);
        ck_assert_float_eq_tol(img.data[3 + c], 0.0f, 1e-6f);
    }
    rsi_image_release(&img);
}
END_TEST

START_TEST(grey_is_replicated)
{
    uint8_t px[4] = {0, 77, 200, 255};
    const char *p = tmp_path("grey.png");
    save(p, px, 2, 2, 1, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_float_eq_tol(img.data[3 * i + c], px[i] / 255.0f, 1e-6f);
    rsi_image_release(&img);
}
END_TEST

/* Alpha is flattened onto black: value * alpha. */
START_TEST(alpha_flattened_onto_black)
{
    uint8_t ga[3 * 2] = {200, 255, 200, 0, 200, 128};
    const char *p = tmp_path("ga.png");
    save(p, ga, 3, 1, 2, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    float want[3] = {200 / 255.0f, 0.0f, 200 * 128 / 255.0f / 255.0f};
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++)
            ck_assert_float_eq_tol(img.data[3 * i + c], want[i], 0.005f);
    rsi_image_release(&img);

    uint8_t rgba[2 * 4] = {255, 100, 0, 255, 255, 100, 0, 0};
    p = tmp_path("rgba.png");
    save(p, rgba, 2, 1, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    read_ok(p, 0, 0, &img);
    ck_assert_float_eq_tol(img.data[0], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(img.data[1], 100 / 255.0f, 1e-6f);
    for (int c = 3; c < 6; c++)
        ck_assert_float_eq_tol(img.data[c], 0.0f, 1e-6f);
    rsi_image_release(&img);
}
END_TEST

START_TEST(rgb_jpeg)
{
    uint8_t *px = malloc(16 * 16 * 3);
    fill_u8(px, 16 * 16, (const uint8_t[]){200, 40, 90}, 3);
    const char *p = tmp_path("rgb.jpg");
    save(p, px, 16, 16, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width, 16);
    expect_constant(&img, 200 / 255.0, 40 / 255.0, 90 / 255.0, 0.03);
    rsi_image_release(&img);
}
END_TEST

/* A CMYK JPEG comes out as sRGB: no ink is white, full black ink dark. */
START_TEST(cmyk_jpeg_to_srgb)
{
    int w = 8, h = 8;
    uint8_t *px = calloc((size_t)w * h, 4);
    for (int i = w * h / 2; i < w * h; i++)
        px[4 * i + 3] = 255; /* bottom half: K */
    const char *p = tmp_path("cmyk.jpg");
    save(p, px, w, h, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_CMYK);
    free(px);
    /* make sure the test exercises CMYK at all */
    VipsImage *raw = vips_image_new_from_file(p, NULL);
    ck_assert_ptr_nonnull(raw);
    ck_assert_int_eq(raw->Bands, 4);
    ck_assert_int_eq(vips_image_get_interpretation(raw),
                     VIPS_INTERPRETATION_CMYK);
    g_object_unref(raw);

    rsi_image img;
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width, w);
    for (int c = 0; c < 3; c++) {
        ck_assert_msg(img.data[c] > 0.9f, "paper %g", img.data[c]);
        ck_assert_msg(img.data[3 * (w * h - 1) + c] < 0.3f, "ink %g",
                      img.data[3 * (w * h - 1) + c]);
    }
    rsi_image_release(&img);
}
END_TEST

START_TEST(one_pixel)
{
    uint8_t px[3] = {1, 2, 3};
    const char *p = tmp_path("one.png");
    save(p, px, 1, 1, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width, 1);
    ck_assert_int_eq(img.height, 1);
    expect_constant(&img, 1 / 255.0, 2 / 255.0, 3 / 255.0, 1e-6);
    rsi_image_release(&img);
    read_ok(p, 5, 3, &img); /* and grows */
    ck_assert_int_eq(img.width, 5);
    ck_assert_int_eq(img.height, 3);
    expect_constant(&img, 1 / 255.0, 2 / 255.0, 3 / 255.0, 1e-5);
    rsi_image_release(&img);
}
END_TEST

/* Resizing gives exactly the size asked for, and a constant picture stays
 * constant (no dark borders, no ringing), growing or shrinking, with the
 * aspect ratio changed or not. */
START_TEST(resize_exact_and_constant)
{
    int w = 37, h = 23;
    uint8_t *px = malloc((size_t)w * h * 3);
    fill_u8(px, (size_t)w * h, (const uint8_t[]){30, 140, 250}, 3);
    const char *p = tmp_path("const.png");
    save(p, px, w, h, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    static const int sizes[][2] = {{224, 224}, {13, 3},   {1, 1},
                                   {37, 23},   {300, 7},  {36, 22},
                                   {38, 24},   {100, 61}, {2, 200}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        rsi_image img;
        read_ok(p, sizes[i][0], sizes[i][1], &img);
        ck_assert_int_eq(img.width, sizes[i][0]);
        ck_assert_int_eq(img.height, sizes[i][1]);
        expect_constant(&img, 30 / 255.0, 140 / 255.0, 250 / 255.0, 1e-4);
        rsi_image_release(&img);
    }
}
END_TEST

/* Bilinear: a left-dark / right-bright step grows into a ramp between, and
 * the halves keep their values away from the edge. */
START_TEST(resize_is_smooth)
{
    uint8_t px[2 * 3] = {0, 0, 0, 255, 255, 255};
    const char *p = tmp_path("step.png");
    save(p, px, 2, 1, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    rsi_image img;
    read_ok(p, 8, 1, &img);
    ck_assert_float_eq_tol(img.data[0], 0.0f, 1e-4f);
    ck_assert_float_eq_tol(img.data[3 * 7], 1.0f, 1e-4f);
    for (int x = 1; x < 8; x++)
        ck_assert(img.data[3 * x] >= img.data[3 * (x - 1)]);
    int between = 0;
    for (int x = 0; x < 8; x++)
        between += img.data[3 * x] > 0.05f && img.data[3 * x] < 0.95f;
    ck_assert_int_ge(between, 2);
    rsi_image_release(&img);
}
END_TEST

/* A file rewritten between reads is read again, not served from a cache. */
START_TEST(rewritten_file_is_reread)
{
    uint8_t a[3] = {10, 10, 10}, b[3] = {200, 200, 200};
    const char *p = tmp_path("again.png");
    rsi_image img;
    save(p, a, 1, 1, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    read_ok(p, 0, 0, &img);
    rsi_image_release(&img);
    save(p, b, 1, 1, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    read_ok(p, 0, 0, &img);
    expect_constant(&img, 200 / 255.0, 200 / 255.0, 200 / 255.0, 1e-6);
    rsi_image_release(&img);
}
END_TEST

/* libvips would read "name[...]" as load options. */
START_TEST(brackets_in_name)
{
    uint8_t a[3] = {10, 20, 30};
    const char *p = tmp_path("odd[1].png");
    ck_assert_int_eq(rsi_image_write_png(p, a, 1, 1), 0);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    expect_constant(&img, 10 / 255.0, 20 / 255.0, 30 / 255.0, 1e-6);
    rsi_image_release(&img);
    p = tmp_path("odd[page=1]");
    ck_assert_int_eq(rsi_image_write_png(p, a, 1, 1), 0);
    read_ok(p, 0, 0, &img);
    rsi_image_release(&img);
}
END_TEST

/* ---- Refusing
 * ------------------------------------------------------------------ */

START_TEST(plain_messages_for_common_mistakes)
{
    rsi_image img = {0, 0, NULL};
    const char *p = tmp_path("missing.png");
    expect_failure(rsi_image_read(p, 0, 0, &img), p, "no such file");
    expect_failure(rsi_image_read(tmp_dir, 0, 0, &img), tmp_dir, "directory");
    p = tmp_path("empty.png");
    ck_assert_int_eq(rsi_write_file_atomic(p, "", 0), 0);
    expect_failure(rsi_image_read(p, 0, 0, &img), p, "empty");
    p = tmp_path("text.png");
    const char *text = "this is not a picture\n";
    ck_assert_int_eq(rsi_write_file_atomic(p, text, strlen(text)), 0);
    expect_failure(rsi_image_read(p, 0, 0, &img), p, NULL);
    if (geteuid() != 0) { /* root reads anything */
        uint8_t a[3] = {1, 2, 3};
        p = tmp_path("secret.png");
        ck_assert_int_eq(rsi_image_write_png(p, a, 1, 1), 0);
        ck_assert_int_eq(chmod(p, 0), 0);
        expect_failure(rsi_image_read(p, 0, 0, &img), p, "ermission");
    }
    ck_assert_ptr_null(img.data);
}
END_TEST

START_TEST(truncated_files_fail)
{
    static const char *names[] = {"trunc.png", "trunc.jpg"};
    static const double keep[] = {0.5, 0.9, 0.1};
    uint8_t *px = noise_rgb8(64, 64);
    for (int k = 0; k < 2; k++) {
        for (int f = 0; f < 3; f++) {
            const char *p = tmp_path(names[k]);
            save(p, px, 64, 64, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
            truncate_to(p, keep[f]);
            rsi_image img = {0, 0, NULL};
            expect_failure(rsi_image_read(p, 0, 0, &img), p, NULL);
            ck_assert_ptr_null(img.data);
            /* resizing must not hide it either */
            expect_failure(rsi_image_read(p, 32, 32, &img), p, NULL);
        }
    }
    free(px);
}
END_TEST

/* Damage inside the pixel data of a PNG whose header is intact. */
START_TEST(corrupt_data_fails)
{
    uint8_t *px = noise_rgb8(64, 64);
    const char *p = tmp_path("corrupt.png");
    save(p, px, 64, 64, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    FILE *fp = fopen(p, "r+b");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 4000, SEEK_SET);
    for (int i = 0; i < 64; i++)
        fputc(0x5a ^ i, fp);
    fclose(fp);
    rsi_image img = {0, 0, NULL};
    expect_failure(rsi_image_read(p, 0, 0, &img), p, NULL);
    ck_assert_ptr_null(img.data);
}
END_TEST

/* Plain (ASCII) PBM, PGM and PPM that hold fewer samples than their
 * header names. libvips' loader reads each missing one as 0, with no
 * error and slowly (about 10 us each): the fuzzer's 22-byte file below,
 * 1 x 517655 pixels, was read as a black image in 6 s (30 s under ASan),
 * and a header naming 10^8 pixels would take many minutes. */
START_TEST(plain_pnm_short_of_samples_fails)
{
    static const char *const cases[][2] = {
        {"claims.pgm", "P2\n1 200000\n255\n"},
        {"fuzz.pgm", "P2temp-7517655\n517655\n"},
        {"short.ppm", "P3\n2 2\n255\n1 2 3 4 5 6 7 8 9 10 11\n"},
        {"short.pbm", "P1\n4 2\n0 1 0 1\n0 1 0\n"},
        {"glued.pbm", "P1\n3 2\n101\n0 1 0\n"}, /* libvips: 4 samples */
        {"comment.pgm", "P2\n2 1\n255\n7 # 8\n"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *p = tmp_path(cases[k][0]);
        tk_write_text(p, cases[k][1]);
        rsi_image img = {0, 0, NULL};
        expect_failure(rsi_image_read(p, 0, 0, &img), p, "truncated");
        ck_assert_ptr_null(img.data);
    }
}
END_TEST

/* Whole plain PNM files still read, comments and all. */
START_TEST(plain_pnm_reads)
{
    rsi_image img;
    const char *p = tmp_path("grey.pgm");
    tk_write_text(p, "P2\n# made by hand\n3 1 # three wide\n255\n0 51\n255\n");
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width, 3);
    static const float grey[] = {0, 0, 0, 0.2f, 0.2f, 0.2f, 1, 1, 1};
    for (int i = 0; i < 9; i++)
        ck_assert_float_eq_tol(img.data[i], grey[i], 1e-6f);
    rsi_image_release(&img);

    p = tmp_path("rgb.ppm");
    tk_write_text(p, "P3 1 2 255 255 0 0 0 0 255");
    read_ok(p, 0, 0, &img);
    static const float rgb[] = {1, 0, 0, 0, 0, 1};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(img.data[i], rgb[i], 1e-6f);
    rsi_image_release(&img);

    p = tmp_path("bits.pbm"); /* plain PBM: 1 is black */
    tk_write_text(p, "P1\n3 2\n1 0 1\n0 1 0\n");
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width * img.height, 6);
    static const float bits[] = {0, 1, 0, 1, 0, 1};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(img.data[3 * i], bits[i], 1e-6f);
    rsi_image_release(&img);
}
END_TEST

START_TEST(too_large_refused_before_decoding)
{
    uint8_t *px = noise_rgb8(20, 20);
    const char *p = tmp_path("big.png");
    save(p, px, 20, 20, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    int64_t old = rsi_image_set_max_pixels(399);
    ck_assert_int_eq(old, RSI_IMAGE_DEFAULT_MAX_PIXELS);
    rsi_image img = {0, 0, NULL};
    expect_failure(rsi_image_read(p, 0, 0, &img), p, "too large");
    /* also when the result would be small */
    expect_failure(rsi_image_read(p, 2, 2, &img), p, "too large");
    rsi_image_set_max_pixels(400);
    read_ok(p, 0, 0, &img);
    rsi_image_release(&img);
    rsi_image_set_max_pixels(0);
    ck_assert_int_eq(rsi_image_max_pixels(), RSI_IMAGE_DEFAULT_MAX_PIXELS);
}
END_TEST

/* ---- Writing
 * ---------------------------------------------------------------------- */

START_TEST(png_write_round_trip)
{
    uint8_t *px = noise_rgb8(5, 7);
    const char *p = tmp_path("out.png");
    ck_assert_int_eq(rsi_image_write_png(p, px, 5, 7), 0);
    rsi_image img;
    read_ok(p, 0, 0, &img);
    ck_assert_int_eq(img.width, 5);
    ck_assert_int_eq(img.height, 7);
    uint8_t back[5 * 7 * 3];
    rsi_image_to_rgb8(&img, back);
    ck_assert_int_eq(memcmp(back, px, sizeof back), 0);
    rsi_image_release(&img);
    free(px);

    char bad[2048];
    snprintf(bad, sizeof bad, "%s/no/dir/out.png", tmp_dir);
    uint8_t one[3] = {0};
    ck_assert_int_eq(rsi_image_write_png(bad, one, 1, 1), -1);
    ck_assert(strstr(rsi_error_message(), bad) != NULL);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_OUTPUT);
    rsi_error_clear();
    ck_assert_int_eq(rsi_image_write_png(p, one, 0, 1), -1);
    rsi_error_clear();
}
END_TEST

START_TEST(to_rgb8_rounds_and_clamps)
{
    float v[9] = {0.0f, 1.0f,     0.5f,     -1.0f,   2.0f,
                  NAN,  0.00196f, 0.00197f, 0.99999f};
    rsi_image img = {3, 1, v};
    uint8_t out[9];
    rsi_image_to_rgb8(&img, out);
    static const uint8_t want[9] = {0, 255, 128, 0, 255, 0, 0, 1, 255};
    ck_assert_int_eq(memcmp(out, want, 9), 0);
}
END_TEST

/* ---- Starting libvips ahead ------------------------------------------------
 */

static void setup_cold(void)
{
    tmp_dir = tk_scratch_open("image-cold"); /* and libvips not started */
}

/* Reads the PPM and checks its pixels; the result is the thread's. */
static void *read_ppm(void *path)
{
    rsi_image img;
    if (rsi_image_read(path, 0, 0, &img) != 0)
        return "read failed";
    const char *wrong = img.width != 3 || img.height != 2 ? "size" : NULL;
    for (int i = 0; !wrong && i < 18; i++)
        if (fabsf(img.data[i] - rgb_3x2[i] / 255.0f) > 1e-6f)
            wrong = "pixels";
    rsi_image_release(&img);
    return (void *)wrong;
}

/* libvips starting on its own thread while four others read at once: each
 * waits for it and reads the same pixels. The image is written without
 * libvips (a binary PPM), so that the test begins before it starts. */
START_TEST(reads_wait_for_the_start_ahead)
{
    const char *p = tmp_path("px.ppm");
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "P6\n3 2\n255\n");
    ck_assert_int_eq(fwrite(rgb_3x2, 1, sizeof rgb_3x2, f), sizeof rgb_3x2);
    ck_assert_int_eq(fclose(f), 0);
    rsi_vips_init_ahead();
    rsi_vips_init_ahead(); /* once per process: this one does nothing */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, read_ppm, (void *)p), 0);
    for (int i = 0; i < 4; i++) {
        void *wrong;
        ck_assert_int_eq(pthread_join(t[i], &wrong), 0);
        ck_assert_msg(wrong == NULL, "thread %d: %s", i, (char *)wrong);
    }
    ck_assert_int_eq(rsi_vips_init(), 0);
}
END_TEST

/* The number of variables in an environment array. */
static size_t env_length(char **env)
{
    size_t n = 0;
    while (env[n])
        n++;
    return n;
}

/* The start ahead's thread must not write the environment, which the
 * caller's thread goes on reading (libvips sets VIPSHOME where it is unset:
 * done on that thread, a command's getenv crashed walking the array that
 * setenv had just replaced). */
START_TEST(start_ahead_leaves_the_environment_alone)
{
    extern char **environ;
    unsetenv("VIPSHOME");
    rsi_vips_init_ahead();
    char **before = environ;
    const size_t n = env_length(before);
    ck_assert_int_eq(rsi_vips_init(), 0); /* waits for the thread */
    ck_assert_ptr_eq(environ, before);
    ck_assert_uint_eq(env_length(environ), n);
    ck_assert_ptr_nonnull(getenv("VIPSHOME")); /* libvips' guess, kept */
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rgb8_png_exact);
    tcase_add_test(tc, png16_scaled_to_unit);
    tcase_add_test(tc, grey_is_replicated);
    tcase_add_test(tc, alpha_flattened_onto_black);
    tcase_add_test(tc, rgb_jpeg);
    tcase_add_test(tc, cmyk_jpeg_to_srgb);
    tcase_add_test(tc, one_pixel);
    tcase_add_test(tc, resize_exact_and_constant);
    tcase_add_test(tc, resize_is_smooth);
    tcase_add_test(tc, rewritten_file_is_reread);
    tcase_add_test(tc, brackets_in_name);
    tcase_add_test(tc, plain_pnm_reads);
    suite_add_tcase(s, tc);

    TCase *bad = tcase_create("refuse");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_add_test(bad, plain_messages_for_common_mistakes);
    tcase_add_test(bad, truncated_files_fail);
    tcase_add_test(bad, corrupt_data_fails);
    tcase_add_test(bad, too_large_refused_before_decoding);
    tcase_add_test(bad, plain_pnm_short_of_samples_fails);
    suite_add_tcase(s, bad);

    TCase *wr = tcase_create("write");
    tcase_add_checked_fixture(wr, setup, teardown);
    tcase_add_test(wr, png_write_round_trip);
    tcase_add_test(wr, to_rgb8_rounds_and_clamps);
    suite_add_tcase(s, wr);

    TCase *ahead = tcase_create("start");
    tcase_add_checked_fixture(ahead, setup_cold, teardown);
    tcase_add_test(ahead, reads_wait_for_the_start_ahead);
    tcase_add_test(ahead, start_ahead_leaves_the_environment_alone);
    suite_add_tcase(s, ahead);
    return s;
}

int main(void)
{
    return tk_run(image_suite());
}
