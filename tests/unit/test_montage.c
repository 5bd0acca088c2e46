/* Tests: the jet colormap, overlays and labelled montages. */

#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "colormap.h"
#include "experiment_internal.h"
#include "fileio.h"
#include "image.h"
#include "montage.h"
#include "rsicam/error.h"
#include "testkit.h"

static const char *tmp_dir; /* this suite's scratch directory */

static void setup(void)
{
    tmp_dir = tk_scratch_open("montage");
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

static void expect_rgb(const uint8_t *got, int r, int g, int b, int tol)
{
    ck_assert_msg(abs(got[0] - r) <= tol && abs(got[1] - g) <= tol &&
                      abs(got[2] - b) <= tol,
                  "got (%d, %d, %d), want (%d, %d, %d)", got[0], got[1], got[2],
                  r, g, b);
}

/* ---- Colormap
 * ------------------------------------------------------------------- */

START_TEST(jet_endpoints_and_middle)
{
    uint8_t c[3];
    rsi_colormap_jet(0.0f, c);
    expect_rgb(c, 0, 0, 128, 0); /* dark blue */
    rsi_colormap_jet(1.0f, c);
    expect_rgb(c, 128, 0, 0, 0); /* dark red */
    rsi_colormap_jet(0.5f, c);   /* greenish */
    ck_assert_int_eq(c[1], 255);
    ck_assert(c[0] > 100 && c[0] < 150 && c[2] > 100 && c[2] < 150);
    rsi_colormap_jet(0.25f, c); /* towards cyan */
    ck_assert(c[0] == 0 && c[1] > 100 && c[2] == 255);
    rsi_colormap_jet(0.75f, c); /* towards yellow/orange */
    ck_assert(c[0] == 255 && c[1] > 100 && c[2] == 0);

    uint8_t d[3];
    rsi_colormap_jet(-3.0f, c);
    rsi_colormap_jet(0.0f, d);
    ck_assert_int_eq(memcmp(c, d, 3), 0);
    rsi_colormap_jet(NAN, c);
    ck_assert_int_eq(memcmp(c, d, 3), 0);
    rsi_colormap_jet(7.0f, c);
    rsi_colormap_jet(1.0f, d);
    ck_assert_int_eq(memcmp(c, d, 3), 0);
}
END_TEST

START_TEST(overlay_arithmetic_2x2)
{
    float pix[12] = {1, 1, 1, 0, 0, 0, 0.2f, 0.4f, 0.6f, 1, 0, 0.5f};
    float heat[4] = {0.0f, 1.0f, 0.5f, 2.0f};
    rsi_image img = {2, 2, pix};
    uint8_t out[12];
    rsi_overlay_jet(&img, heat, 0.5f, out);
    /* white under jet(0) = (0, 0, 128): (0.5 * 255, 0.5 * 255, 0.5 * 255 +
     * 0.5 * 128) */
    expect_rgb(out, 128, 128, 192, 1);
    /* black under jet(1) = (128, 0, 0) */
    expect_rgb(out + 3, 64, 0, 0, 1);
    for (int p = 0; p < 4; p++) {
        uint8_t j[3];
        rsi_colormap_jet(heat[p], j);
        for (int c = 0; c < 3; c++) {
            double want = (0.5 * pix[3 * p + c] + 0.5 * j[c] / 255.0) * 255.0;
            ck_assert_msg(fabs(out[3 * p + c] - want) <= 0.5 + 1e-3,
                          "pixel %d band %d: %d, want %g", p, c, out[3 * p + c],
                          want);
        }
    }
    /* alpha 0 is the image, alpha 1 the colormap */
    rsi_overlay_jet(&img, heat, 0.0f, out);
    uint8_t base[12];
    rsi_image_to_rgb8(&img, base);
    ck_assert_int_eq(memcmp(out, base, 12), 0);
    rsi_overlay_jet(&img, heat, 1.0f, out);
    uint8_t jet[12];
    rsi_heat_to_jet(heat, 2, 2, jet);
    ck_assert_int_eq(memcmp(out, jet, 12), 0);
}
END_TEST

/* ---- Montage
 * ---------------------------------------------------------------------- */

enum { CW = 10, CH = 8, G = RSI_MONTAGE_GAP };

/* a w x h cell k filled with a colour of its own */
static uint8_t *cell(int k, int w, int h)
{
    uint8_t *c = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        c[3 * i] = (uint8_t)(20 * k);
        c[3 * i + 1] = (uint8_t)(200 - 20 * k);
        c[3 * i + 2] = 77;
    }
    return c;
}

static uint8_t *read_back(const char *p, int *w, int *h)
{
    rsi_image img;
    ck_assert_msg(rsi_image_read(p, 0, 0, &img) == 0, "%s",
                  rsi_error_message());
    uint8_t *rgb = malloc((size_t)img.width * img.height * 3);
    rsi_image_to_rgb8(&img, rgb);
    *w = img.width;
    *h = img.height;
    rsi_image_release(&img);
    return rgb;
}

static const uint8_t *at(const uint8_t *rgb, int w, int x, int y)
{
    return rgb + 3 * ((size_t)y * w + x);
}

START_TEST(grid_without_labels)
{
    const uint8_t *cells[6];
    uint8_t *own[6];
    for (int k = 0; k < 6; k++)
        cells[k] = own[k] = cell(k, CW, CH);
    cells[4] = NULL; /* blank */
    const char *p = tmp_path("grid.png");
    ck_assert_msg(rsi_montage_write_png(p, cells, 2, 3, CW, CH, NULL, NULL) ==
                      0,
                  "%s", rsi_error_message());
    int w, h;
    uint8_t *rgb = read_back(p, &w, &h);
    ck_assert_int_eq(w, 3 * CW + 4 * G);
    ck_assert_int_eq(h, 2 * CH + 3 * G);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++) {
            int k = r * 3 + c, x = G + c * (CW + G), y = G + r * (CH + G);
            if (k == 4) {
                expect_rgb(at(rgb, w, x, y), 255, 255, 255, 0);
                continue;
            }
            expect_rgb(at(rgb, w, x, y), 20 * k, 200 - 20 * k, 77, 0);
            expect_rgb(at(rgb, w, x + CW - 1, y + CH - 1), 20 * k, 200 - 20 * k,
                       77, 0);
            expect_rgb(at(rgb, w, x - 1, y), 255, 255, 255, 0); /* gap */
        }
    expect_rgb(at(rgb, w, 0, 0), 255, 255, 255, 0);
    free(rgb);
    for (int k = 0; k < 6; k++)
        free(own[k]);
}
END_TEST

/* Labels grow the picture and leave the cells intact; where text cannot be
 * rendered at all, the grid is still written, unlabelled. */
START_TEST(grid_with_labels)
{
    const uint8_t *cells[4];
    uint8_t *own[4];
    for (int k = 0; k < 4; k++)
        cells[k] = own[k] = cell(k, 4 * CW, 4 * CH);
    const char *rows[2] = {"image <1> & co", NULL};
    const char *cols[2] = {"input", "RSI-Grad-CAM heatmap, a long label"};
    const char *p = tmp_path("labelled.png");
    ck_assert_msg(
        rsi_montage_write_png(p, cells, 2, 2, CW * 4, CH * 4, rows, cols) == 0,
        "%s", rsi_error_message());
    int w, h;
    uint8_t *rgb = read_back(p, &w, &h);

    VipsImage *probe = NULL;
    int fonts = vips_text(&probe, "x", NULL) == 0;
    if (probe)
        g_object_unref(probe);
    vips_error_clear();
    int plain_w = 2 * CW * 4 + 3 * G, plain_h = 2 * CH * 4 + 3 * G;
    if (fonts) {
        ck_assert_int_gt(w, plain_w);
        ck_assert_int_gt(h, plain_h);
        int dark = 0; /* some text in the header row */
        for (int x = 0; x < w; x++)
            dark +=
                at(rgb, w, x, G + 2)[0] < 128 || at(rgb, w, x, G + 5)[0] < 128;
        ck_assert_int_gt(dark, 0);
    } else {
        fprintf(stderr, "note: no fonts; montage labels not checked\n");
        ck_assert_int_eq(w, plain_w);
        ck_assert_int_eq(h, plain_h);
    }
    /* the last cell sits in the bottom-right corner either way */
    expect_rgb(at(rgb, w, w - 1 - G, h - 1 - G), 60, 140, 77, 0);
    expect_rgb(at(rgb, w, w - G - 4 * CW, h - G - 4 * CH), 60, 140, 77, 0);
    free(rgb);
    for (int k = 0; k < 4; k++)
        free(own[k]);
}
END_TEST

START_TEST(montage_errors)
{
    const uint8_t *cells[1] = {NULL};
    const char *p = tmp_path("bad.png");
    ck_assert_int_eq(rsi_montage_write_png(p, cells, 0, 1, 4, 4, NULL, NULL),
                     -1);
    ck_assert(strstr(rsi_error_message(), p) != NULL);
    rsi_error_clear();
    ck_assert_int_eq(rsi_montage_write_png(p, cells, 1, 1, 0, 4, NULL, NULL),
                     -1);
    rsi_error_clear();
    char bad[2048];
    snprintf(bad, sizeof bad, "%s/missing/dir/m.png", tmp_dir);
    ck_assert_int_eq(rsi_montage_write_png(bad, cells, 1, 1, 4, 4, NULL, NULL),
                     -1);
    ck_assert(strstr(rsi_error_message(), bad) != NULL);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_OUTPUT);
    rsi_error_clear();
    ck_assert_int_eq(access(p, F_OK), -1);
}
END_TEST

/* An experiment's montage rows: two baselines that differ only in sigma,
 * at two targets. Each row's label must say what sets it apart (the
 * plugin's parameters among it), and what all rows share goes once into
 * the input column's heading instead of on every row. */
static json_t *montage_row(const char *sigma, const char *target, int cls)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"status\":\"ok\",\"class\":%d,\"label\":\"%s\","
             "\"probability\":0.25,\"settings\":{\"layer\":\"conv2\","
             "\"method\":\"rsi-relu\",\"score\":\"softmax\","
             "\"target\":\"%s\",\"baseline\":{\"name\":\"blur\","
             "\"sigma\":%s},\"path\":{\"name\":\"linear\"},\"steps\":8}}",
             cls, cls ? "dog" : "cat", target, sigma);
    json_t *o = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(o);
    return o;
}

START_TEST(montage_labels_tell_rows_apart)
{
    json_t *rows = json_array();
    json_array_append_new(rows, montage_row("0.5", "top1", 0));
    json_array_append_new(rows, montage_row("2", "top1", 0));
    json_array_append_new(rows, montage_row("0.5", "top2", 1));
    json_array_append_new(rows, montage_row("2", "top2", 1));
    char **l = xp_montage_labels(rows);
    ck_assert_ptr_nonnull(l);
    for (int i = 1; i <= 4; i++)
        for (int j = i + 1; j <= 4; j++)
            ck_assert_msg(strcmp(l[i], l[j]) != 0, "rows %d and %d: '%s'", i, j,
                          l[i]);
    ck_assert_str_eq(l[1], "blur sigma=0.5\ntop1: cat 0.25");
    ck_assert_str_eq(l[2], "blur sigma=2\ntop1: cat 0.25");
    ck_assert_str_eq(l[4], "blur sigma=2\ntop2: dog 0.25");
    ck_assert_str_eq(l[0], "input\nconv2 rsi-relu softmax linear 8 steps");
    xp_montage_labels_free(l, 4);

    /* One row: nothing to tell apart, everything in the heading. */
    json_array_remove(rows, 3);
    json_array_remove(rows, 2);
    json_array_remove(rows, 1);
    l = xp_montage_labels(rows);
    ck_assert_str_eq(l[1], "top1: cat 0.25");
    ck_assert_str_eq(l[0], "input\nconv2 rsi-relu softmax blur sigma=0.5 "
                           "linear 8 steps");
    xp_montage_labels_free(l, 1);
    json_decref(rows);
}
END_TEST

static Suite *montage_suite(void)
{
    Suite *s = suite_create("montage");
    TCase *cm = tcase_create("colormap");
    tcase_add_test(cm, jet_endpoints_and_middle);
    tcase_add_test(cm, overlay_arithmetic_2x2);
    suite_add_tcase(s, cm);

    TCase *tc = tcase_create("montage");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, grid_without_labels);
    tcase_add_test(tc, grid_with_labels);
    tcase_add_test(tc, montage_errors);
    tcase_add_test(tc, montage_labels_tell_rows_apart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run(montage_suite());
}
