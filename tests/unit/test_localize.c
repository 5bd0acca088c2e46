/* Tests: localisation metrics (pointing game, energy in box, box scaling),
 * sample lists, and `rsicam evaluate` on hand-made results (no model). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "image.h"
#include "localize.h"
#include "npy.h"
#include "rsicam/error.h"
#include "samples.h"
#include "testkit.h"

/* ---- metrics ----------------------------------------------------------- */

/* Dyadic values: every sum below is exact in double, so energies compare
 * with ==. Total 3.375; the maximum 1 is at (x 2, y 1). */
static const float heat4[16] = {
    0,      0.125f, 0.25f,  0,      /* y 0 */
    0.125f, 0.5f,   1,      0.25f,  /* y 1 */
    0,      0.375f, 0.5f,   0.125f, /* y 2 */
    0,      0,      0.125f, 0,      /* y 3 */
};

START_TEST(pointing_hit_and_miss)
{
    rsi_localization loc;
    rsi_pixel_box in = {1, 1, 3, 3}; /* x 1..2, y 1..2 */
    rsi_localize(heat4, 4, 4, &in, &loc);
    ck_assert_int_eq(loc.argmax_x, 2);
    ck_assert_int_eq(loc.argmax_y, 1);
    ck_assert_int_eq(loc.hit, 1);
    ck_assert_int_eq(loc.flat, 0);

    rsi_pixel_box left = {0, 0, 2, 4}; /* x1 is exclusive: x 2 is out */
    rsi_localize(heat4, 4, 4, &left, &loc);
    ck_assert_int_eq(loc.hit, 0);
    rsi_pixel_box one = {2, 1, 3, 2}; /* exactly the maximum's pixel */
    rsi_localize(heat4, 4, 4, &one, &loc);
    ck_assert_int_eq(loc.hit, 1);
}
END_TEST

START_TEST(energy_exact_values)
{
    rsi_localization loc;
    rsi_pixel_box centre = {1, 1, 3, 3}; /* 0.5 + 1 + 0.375 + 0.5 */
    rsi_localize(heat4, 4, 4, &centre, &loc);
    ck_assert(loc.energy == 2.375 / 3.375);
    rsi_pixel_box all = {0, 0, 4, 4};
    rsi_localize(heat4, 4, 4, &all, &loc);
    ck_assert(loc.energy == 1.0);
    rsi_pixel_box corner = {0, 3, 1, 4}; /* a zero pixel */
    rsi_localize(heat4, 4, 4, &corner, &loc);
    ck_assert(loc.energy == 0.0);
    rsi_pixel_box top = {0, 0, 4, 1}; /* 0 + 0.125 + 0.25 + 0 */
    rsi_localize(heat4, 4, 4, &top, &loc);
    ck_assert(loc.energy == 0.375 / 3.375);
}
END_TEST

START_TEST(pointing_ties_take_the_first)
{
    float h[16] = {0};
    h[1 * 4 + 3] = 1; /* (3, 1) */
    h[2 * 4 + 0] = 1; /* (0, 2): same value, later in row-major order */
    h[1 * 4 + 1] = 1; /* (1, 1): same row as (3, 1), further left */
    rsi_localization loc;
    rsi_pixel_box first = {1, 1, 2, 2};
    rsi_localize(h, 4, 4, &first, &loc);
    ck_assert_int_eq(loc.argmax_x, 1);
    ck_assert_int_eq(loc.argmax_y, 1);
    ck_assert_int_eq(loc.hit, 1);
    rsi_pixel_box others = {0, 2, 4, 4}; /* holds (0, 2) only: a miss */
    rsi_localize(h, 4, 4, &others, &loc);
    ck_assert_int_eq(loc.hit, 0);
    ck_assert(loc.energy == 1.0 / 3.0);
}
END_TEST

START_TEST(flat_and_nan_maps)
{
    float zero[16] = {0}, half[16], nan_max[16] = {0};
    for (int i = 0; i < 16; i++)
        half[i] = 0.5f;
    rsi_pixel_box box = {0, 0, 2, 2};
    rsi_localization loc;
    rsi_localize(zero, 4, 4, &box, &loc);
    ck_assert_int_eq(loc.flat, 1);
    ck_assert_int_eq(loc.hit, 0); /* a flat map points nowhere */
    ck_assert_int_eq(loc.argmax_x, -1);
    ck_assert(isnan(loc.energy)); /* no energy: missing, not 0 */
    rsi_localize(half, 4, 4, &box, &loc);
    ck_assert_int_eq(loc.flat, 1);
    ck_assert_int_eq(loc.hit, 0);
    ck_assert(loc.energy == 0.25);
    /* NaN is never the maximum and adds no energy */
    nan_max[0] = NAN;
    nan_max[15] = 0.5f;
    rsi_localize(nan_max, 4, 4, &box, &loc);
    ck_assert_int_eq(loc.flat, 0);
    ck_assert_int_eq(loc.argmax_x, 3);
    ck_assert_int_eq(loc.argmax_y, 3);
    ck_assert(loc.energy == 0.0);
}
END_TEST

static void expect_px(const rsi_pixel_box *b, int x0, int y0, int x1, int y1)
{
    ck_assert_msg(b->x0 == x0 && b->y0 == y0 && b->x1 == x1 && b->y1 == y1,
                  "got (%d, %d, %d, %d), want (%d, %d, %d, %d)", b->x0, b->y0,
                  b->x1, b->y1, x0, y0, x1, y1);
}

START_TEST(box_scaling)
{
    rsi_pixel_box p;
    /* same size: the box itself */
    rsi_box b = {70, 1, 89, 32};
    ck_assert_int_eq(rsi_box_to_pixels(&b, 96, 96, 96, 96, &p), 0);
    expect_px(&p, 70, 1, 89, 32);
    /* 192 -> 96: heatmap pixel i has its centre at 2i + 1 in the image;
     * 10 <= 2i + 1 < 30 gives i in 5..14, 20 <= 2i + 1 < 41 gives 10..19 */
    b = (rsi_box){10, 20, 30, 41};
    ck_assert_int_eq(rsi_box_to_pixels(&b, 192, 192, 96, 96, &p), 0);
    expect_px(&p, 5, 10, 15, 20);
    /* x and y scale independently: 48x24 -> 96x96 (x2, x4) */
    b = (rsi_box){10, 5, 20, 6};
    ck_assert_int_eq(rsi_box_to_pixels(&b, 48, 24, 96, 96, &p), 0);
    expect_px(&p, 20, 20, 40, 24);
    /* a box thinner than a heatmap pixel keeps the pixel under its centre */
    b = (rsi_box){512, 512, 513, 513};
    ck_assert_int_eq(rsi_box_to_pixels(&b, 1000, 1000, 10, 10, &p), 0);
    expect_px(&p, 5, 5, 6, 6);
    /* clipped to the image */
    b = (rsi_box){90, 90, 120, 120};
    ck_assert_int_eq(rsi_box_to_pixels(&b, 96, 96, 96, 96, &p), 0);
    expect_px(&p, 90, 90, 96, 96);
    /* wholly outside: an error, not an empty box */
    b = (rsi_box){100, 0, 110, 10};
    ck_assert_int_eq(rsi_box_to_pixels(&b, 96, 96, 96, 96, &p), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    ck_assert(strstr(rsi_error_message(), "outside") != NULL);
    rsi_error_clear();
}
END_TEST

/* ---- sample lists ------------------------------------------------------ */

static void setup(void)
{
    tk_scratch_open("localize");
}

static void teardown(void)
{
    tk_scratch_close();
}

static const char *write_scratch(const char *name, const char *text)
{
    const char *p = tk_path(name);
    tk_write_text(p, text);
    return p;
}

START_TEST(samples_parse)
{
    const char *p = write_scratch(
        "list.csv", "\xEF\xBB\xBFimage,label,x0,y0,x1,y1,extra\r\n"
                    "a.png,3,1,2,3,4,foo\r\n"
                    "\r\n"
                    "\"sub/b,\"\"c\"\".png\" , T-shirt/top ,,,,,bar\n"
                    "/abs/d.png,,0.5,0.5,2.5,3,\n");
    rsi_sample_list l;
    ck_assert_msg(rsi_samples_read(p, &l) == 0, "%s", rsi_error_message());
    ck_assert_int_eq(l.n, 3);
    ck_assert_str_eq(l.items[0].image, tk_path("a.png"));
    ck_assert_int_eq(l.items[0].label, 3);
    ck_assert_ptr_null(l.items[0].label_name);
    ck_assert_int_eq(l.items[0].has_box, 1);
    ck_assert(l.items[0].box.x0 == 1 && l.items[0].box.y0 == 2 &&
              l.items[0].box.x1 == 3 && l.items[0].box.y1 == 4);
    ck_assert_int_eq(l.items[0].line, 2);

    ck_assert_str_eq(l.items[1].image, tk_path("sub/b,\"c\".png"));
    ck_assert_int_eq(l.items[1].label, -1);
    ck_assert_str_eq(l.items[1].label_name, "T-shirt/top");
    ck_assert_int_eq(l.items[1].has_box, 0);
    ck_assert_int_eq(l.items[1].line, 4);

    ck_assert_str_eq(l.items[2].image, "/abs/d.png");
    ck_assert_int_eq(l.items[2].label, -1);
    ck_assert_ptr_null(l.items[2].label_name);
    ck_assert(l.items[2].box.x0 == 0.5 && l.items[2].box.y1 == 3);

    const char *names[] = {"T-shirt/top", "Trouser"};
    ck_assert_int_eq(rsi_samples_resolve_labels(&l, names, 2), 0);
    ck_assert_int_eq(l.items[1].label, 0);
    rsi_samples_free(&l);
    rsi_samples_free(&l); /* twice is fine */

    /* any column order; label and box optional */
    p = write_scratch("min.csv", "note,image\nhello,x.png\n");
    ck_assert_int_eq(rsi_samples_read(p, &l), 0);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.items[0].image, tk_path("x.png"));
    ck_assert_int_eq(l.items[0].label, -1);
    ck_assert_int_eq(l.items[0].has_box, 0);
    const char *one[] = {"Trouser"};
    ck_assert_int_eq(rsi_samples_resolve_labels(&l, one, 1), 0);
    rsi_samples_free(&l);

    p = write_scratch("names.csv", "image,label\nx.png,Sneaker\n");
    ck_assert_int_eq(rsi_samples_read(p, &l), 0);
    ck_assert_int_eq(rsi_samples_resolve_labels(&l, names, 2), -1);
    ck_assert(strstr(rsi_error_message(),
                     "names.csv:2: unknown class name 'Sneaker'") != NULL);
    rsi_error_clear();
    rsi_samples_free(&l);
}
END_TEST

/* A malformed list fails as a whole with "FILE:LINE: reason". */
static void expect_bad(const char *name, const char *text, const char *where,
                       const char *reason)
{
    const char *p = write_scratch(name, text);
    rsi_sample_list l;
    ck_assert_int_eq(rsi_samples_read(p, &l), -1);
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    char want[4200];
    snprintf(want, sizeof want, "%s%s", p, where);
    const char *msg = rsi_error_message();
    ck_assert_msg(strncmp(msg, want, strlen(want)) == 0 &&
                      strstr(msg, reason) != NULL,
                  "%s: got '%s', want '%s...%s'", name, msg, want, reason);
    rsi_error_clear();
}

START_TEST(samples_errors)
{
    expect_bad("e1.csv", "", ": ", "empty");
    expect_bad("e2.csv", "file,label\na.png,1\n", ":1: ", "no 'image'");
    expect_bad("e3.csv", "image,x0,y0\na.png,1,2\n", ":1: ", "all four");
    expect_bad("e4.csv", "image,image\na,b\n", ":1: ", "appears twice");
    expect_bad("e5.csv", "image,label\na.png,1\nb.png\n",
               ":3: ", "1 fields, the header names 2");
    expect_bad("e6.csv", "image,x0,y0,x1,y1\na.png,1,2,,4\n",
               ":2: ", "all of x0,y0,x1,y1");
    expect_bad("e7.csv", "image,x0,y0,x1,y1\na.png,1,2,one,4\n",
               ":2: ", "numbers");
    expect_bad("e8.csv", "image,x0,y0,x1,y1\n\na.png,5,2,3,4\n",
               ":3: ", "0 <= x0 < x1");
    expect_bad("e9.csv", "image,label\n\"a.png,1\n", ":2: ", "unterminated");
    expect_bad("e10.csv", "image,label\n\"a\"b.png,1\n",
               ":2: ", "after a closing quote");
    expect_bad("e11.csv", "image,label\n,1\n", ":2: ", "empty image");
    expect_bad("e12.csv", "image,label\na.png,99999999999999999999\n",
               ":2: ", "out of range");

    rsi_sample_list l;
    ck_assert_int_eq(rsi_samples_read(tk_path("missing.csv"), &l), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    ck_assert(strstr(rsi_error_message(), "missing.csv") != NULL);
    rsi_error_clear();
}
END_TEST

/* ---- rsicam evaluate on hand-made results ------------------------------ */

static void write_png(const char *name, int w, int h, uint8_t value)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    memset(rgb, value, (size_t)w * h * 3);
    ck_assert_msg(rsi_image_write_png(tk_path(name), rgb, w, h) == 0, "%s",
                  rsi_error_message());
    free(rgb);
}

/* A 4x4 heatmap, all zeros but value v at (x, y). */
static void write_heat(const char *name, int x, int y, float v)
{
    float h[16] = {0};
    h[y * 4 + x] = v;
    const int64_t shape[2] = {4, 4};
    ck_assert_int_eq(rsi_npy_write_f32(tk_path(name), h, shape, 2), 0);
}

static void add_record(const char *image, const char *method,
                       const char *variant, const char *stem, int cls,
                       double prob)
{
    char line[2048];
    snprintf(line, sizeof line,
             "{\"status\":\"ok\",\"image\":\"%s\",\"model\":\"m/net.pt\","
             "\"layer\":\"f.3\",\"method\":\"%s\",\"variant\":\"%s\","
             "\"score\":\"softmax\",\"class\":%d,\"label\":\"c%d\","
             "\"probability\":%g,\"heatmap\":\"%s.heatmap.npy\","
             "\"overlay\":\"%s.png\"}",
             image, method, variant, cls, cls, prob, stem, stem);
    ck_assert_int_eq(rsi_append_line(tk_path("res/results.jsonl"), line), 0);
}

/* Two 8x8 images scored on 4x4 heatmaps (box coordinates halve), one
 * image without a box, one not in the list, one failed record. */
static void make_results(void)
{
    ck_assert_int_eq(rsi_mkdir_p(tk_path("res")), 0);
    write_png("a.png", 8, 8, 40);
    write_png("b.png", 8, 8, 200);
    write_png("c.png", 8, 8, 120);
    write_scratch("list.csv", "image,label,x0,y0,x1,y1\n"
                              "a.png,1,0,0,4,4\n"
                              "b.png,c2,4,4,8,8\n"
                              "c.png,0,,,,\n");
    /* a: rsi hits (max at (1,1) in box px 0..1), gradcam misses */
    write_heat("res/a.rsi.heatmap.npy", 1, 1, 1);
    write_heat("res/a.gc.heatmap.npy", 3, 3, 1);
    /* b: rsi hits (3,2), gradcam flat (all zero) */
    write_heat("res/b.rsi.heatmap.npy", 3, 2, 1);
    write_heat("res/b.gc.heatmap.npy", 0, 0, 0);
    const char *stems[] = {"a.rsi", "a.gc", "b.rsi", "b.gc"};
    for (int i = 0; i < 4; i++) {
        char png[64];
        snprintf(png, sizeof png, "res/%s.png", stems[i]);
        write_png(png, 4, 4, (uint8_t)(60 * i));
    }
    char a[4200], b[4200];
    /* different spellings of the same files: matched through realpath */
    snprintf(a, sizeof a, "%s", tk_path("res/../a.png"));
    snprintf(b, sizeof b, "%s", tk_path("./b.png"));
    add_record(a, "rsi", "relu", "a.rsi", 1, 0.75);
    add_record(a, "gradcam", "", "a.gc", 1, 0.75);
    add_record(b, "rsi", "relu", "b.rsi", 2, 0.25);
    add_record(b, "gradcam", "", "b.gc", 2, 0.25);
    add_record(tk_path("c.png"), "rsi", "relu", "a.rsi", 0, 0.5);
    add_record("/nowhere/z.png", "rsi", "relu", "a.rsi", 0, 0.5);
    rsi_append_line(tk_path("res/results.jsonl"),
                    "{\"status\":\"failed\",\"image\":\"q.png\"}");
}

START_TEST(evaluate_table_and_csv)
{
    make_results();
    char *out = NULL;
    int rc = tk_sh(&out,
                   "%s evaluate --results %s --samples %s --csv %s "
                   "--montage %s --montage-rows 5",
                   tk_rsicam(), tk_path("res"), tk_path("list.csv"),
                   tk_path("loc.csv"), tk_path("m.png"));
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    /* rsi: 2/2 hits, energy 1 each; gradcam: 0/2, one flat, energy 0 */
    ck_assert_msg(strstr(out, "net.pt  f.3    rsi-relu  softmax      2     "
                              "1.000        2/2     0   1.000  1.000  0.500") !=
                      NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "net.pt  f.3    gradcam   softmax      2     "
                              "0.000        0/2     1   0.000  1.000  0.500") !=
                      NULL,
                  "%s", out);
    ck_assert(strstr(out, "1 failed image(s)") != NULL);
    ck_assert(strstr(out, "1 map(s) skipped: image not in the sample list "
                          "(first: /nowhere/z.png)") != NULL);
    ck_assert(strstr(out, "1 map(s) skipped: their sample has no box") != NULL);
    free(out);

    rc = tk_sh(&out, "cat %s", tk_path("loc.csv"));
    ck_assert_int_eq(rc, 0);
    char want[4200];
    snprintf(want, sizeof want,
             "%s,m/net.pt,f.3,rsi,relu,softmax,c2,2,1,0.25,2,2,4,4,3,2,1,0,1,"
             "%s,\n",
             tk_path("b.png"), tk_path("res/b.rsi.heatmap.npy"));
    ck_assert_msg(strstr(out, want) != NULL, "%s\nwant %s", out, want);
    snprintf(want, sizeof want,
             "%s,m/net.pt,f.3,gradcam,,softmax,c2,2,1,0.25,2,2,4,4,-1,-1,0,1,,",
             tk_path("b.png"));
    ck_assert_msg(strstr(out, want) != NULL, "%s\nwant %s", out, want);
    free(out);

    /* 2 rows x 3 columns of 4x4 cells, plus labels when fonts exist */
    rsi_image img = {0};
    ck_assert_int_eq(rsi_image_read(tk_path("m.png"), 0, 0, &img), 0);
    ck_assert_int_ge(img.width, 3 * 4 + 4 * 4);
    ck_assert_int_ge(img.height, 2 * 4 + 3 * 4);
    rsi_image_release(&img);
}
END_TEST

START_TEST(evaluate_select_and_errors)
{
    make_results();
    char *out = NULL;
    int rc = tk_sh(&out,
                   "%s evaluate --results %s --samples %s --select "
                   "gradcam.softmax",
                   tk_rsicam(), tk_path("res"), tk_path("list.csv"));
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert(strstr(out, "gradcam") != NULL);
    ck_assert(strstr(out, "rsi-relu") == NULL);
    free(out);

    rc =
        tk_sh(&out, "%s evaluate --results %s --samples %s --select rsi-guided",
              tk_rsicam(), tk_path("res"), tk_path("list.csv"));
    ck_assert_int_eq(rc, 3);
    ck_assert(strstr(out, "no map to evaluate") != NULL);
    free(out);

    rc = tk_sh(&out, "%s evaluate --samples %s", tk_rsicam(),
               tk_path("list.csv"));
    ck_assert_int_eq(rc, 2);
    free(out);

    write_scratch("dup.csv", "image,label\na.png,1\n./a.png,2\n");
    rc = tk_sh(&out, "%s evaluate --results %s --samples %s", tk_rsicam(),
               tk_path("res"), tk_path("dup.csv"));
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(out, "dup.csv:3: ") && strstr(out, "listed twice"),
                  "%s", out);
    free(out);

    /* a record without a heatmap file is skipped; another class rule
     * ("target") is another setting; no overlay leaves a blank cell */
    char line[4200];
    snprintf(line, sizeof line,
             "{\"status\":\"ok\",\"image\":\"%s\",\"model\":\"m\","
             "\"layer\":\"l\",\"method\":\"rsi\",\"variant\":\"relu\","
             "\"score\":\"logit\",\"heatmap\":null}",
             tk_path("a.png"));
    rsi_append_line(tk_path("res/results.jsonl"), line);
    snprintf(line, sizeof line,
             "{\"status\":\"ok\",\"image\":\"%s\",\"model\":\"m/net.pt\","
             "\"layer\":\"f.3\",\"method\":\"rsi\",\"variant\":\"relu\","
             "\"score\":\"softmax\",\"target\":\"label\",\"class\":1,"
             "\"heatmap\":\"a.gc.heatmap.npy\",\"overlay\":null}",
             tk_path("a.png"));
    rsi_append_line(tk_path("res/results.jsonl"), line);
    rc = tk_sh(&out,
               "%s evaluate --results %s --samples %s --csv %s "
               "--montage %s",
               tk_rsicam(), tk_path("res"), tk_path("list.csv"),
               tk_path("t.csv"), tk_path("t.png"));
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(strstr(out, "1 map(s) skipped: no heatmap file recorded"),
                  "%s", out);
    ck_assert_msg(strstr(out, " rsi-relu  softmax@label      1     0.000 "),
                  "%s", out);
    ck_assert_msg(strstr(out, " rsi-relu  softmax            2     1.000 "),
                  "%s", out);
    free(out);
    rc = tk_sh(&out, "tail -n 1 %s", tk_path("t.csv"));
    ck_assert_msg(strstr(out, ",label\n"), "%s", out);
    free(out);

    rsi_append_line(tk_path("res/results.jsonl"), "{not json");
    rc = tk_sh(&out, "%s evaluate --results %s --samples %s", tk_rsicam(),
               tk_path("res"), tk_path("list.csv"));
    ck_assert_int_eq(rc, 3);
    ck_assert_msg(strstr(out, "results.jsonl:10: not a JSON object"), "%s",
                  out);
    free(out);
}
END_TEST

static Suite *localize_suite(void)
{
    Suite *s = suite_create("localize");
    TCase *m = tcase_create("metrics");
    tcase_add_test(m, pointing_hit_and_miss);
    tcase_add_test(m, energy_exact_values);
    tcase_add_test(m, pointing_ties_take_the_first);
    tcase_add_test(m, flat_and_nan_maps);
    tcase_add_test(m, box_scaling);
    suite_add_tcase(s, m);

    TCase *l = tcase_create("samples");
    tcase_add_checked_fixture(l, setup, teardown);
    tcase_add_test(l, samples_parse);
    tcase_add_test(l, samples_errors);
    suite_add_tcase(s, l);

    TCase *e = tcase_create("evaluate");
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_add_test(e, evaluate_table_and_csv);
    tcase_add_test(e, evaluate_select_and_errors);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    return tk_run(localize_suite());
}
