/* Tests: examples/quickstart/run end to end on the first four samples with
 * the shipped models, and that evaluate's numbers come from the maps:
 * every map's pointing game and energy are recomputed here from its
 * heatmap.npy and the box in samples.csv. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "npy.h"
#include "rsicam/error.h"
#include "testkit.h"

enum { N_IMAGES = 4, N_SETTINGS = 6, CELL = 96, GAP = 4 };

static const char *out_dir;

static void setup(void)
{
    out_dir = tk_scratch_open("quickstart");
}

static void teardown(void)
{
    tk_scratch_close();
}

/* Splits a CSV line without quotes in place (the quickstart's paths and
 * names have no commas). Returns the field count. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

/* The box of an image in examples/samples/samples.csv. */
static void sample_box(const char *image, int box[4])
{
    const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
    FILE *fp = fopen(tk_source("examples/samples/samples.csv"), "r");
    ck_assert_ptr_nonnull(fp);
    char line[1024], *f[8];
    int found = 0;
    while (!found && fgets(line, sizeof line, fp)) {
        if (split(line, f, 8) == 6 && strcmp(f[0], base) == 0) {
            for (int k = 0; k < 4; k++)
                box[k] = atoi(f[2 + k]);
            found = 1;
        }
    }
    fclose(fp);
    ck_assert_msg(found, "%s is not in samples.csv", base);
}

/* The first maximum (row-major) of a heatmap, and its energy in box. */
static void recompute(const char *heatmap, const int box[4], int *ax, int *ay,
                      double *energy)
{
    float *h = NULL;
    int64_t shape[RSI_MAX_DIMS];
    int ndim = 0;
    ck_assert_msg(rsi_npy_read_f32(heatmap, &h, shape, &ndim) == 0, "%s",
                  rsi_error_message());
    /* the canvases are the model's size: the box needs no scaling */
    ck_assert(ndim == 2 && shape[0] == CELL && shape[1] == CELL);
    double total = 0, inside = 0;
    int best = 0;
    for (int i = 0; i < CELL * CELL; i++) {
        int x = i % CELL, y = i / CELL;
        total += h[i];
        if (x >= box[0] && x < box[2] && y >= box[1] && y < box[3])
            inside += h[i];
        if (h[i] > h[best])
            best = i;
    }
    *ax = best % CELL;
    *ay = best / CELL;
    *energy = total > 0 ? inside / total : NAN;
    free(h);
}

/* Checks every line of localization.csv against the maps; returns the
 * hits of the base model's rsi-relu softmax setting. */
static int check_csv(const char *path)
{
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "no %s", path);
    char line[8192], *f[24];
    int rows = 0, relu_hits = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_int_eq(split(line, f, 24), 21);
    ck_assert_str_eq(f[16], "hit");
    while (fgets(line, sizeof line, fp)) {
        ck_assert_int_eq(split(line, f, 24), 21);
        int box[4], ax, ay;
        double energy;
        sample_box(f[0], box);
        recompute(f[19], box, &ax, &ay, &energy);
        int hit = ax >= box[0] && ax < box[2] && ay >= box[1] && ay < box[3];
        int flat = atoi(f[17]);
        if (!flat) {
            ck_assert_int_eq(atoi(f[14]), ax);
            ck_assert_int_eq(atoi(f[15]), ay);
            ck_assert_int_eq(atoi(f[16]), hit);
        } else {
            ck_assert_int_eq(atoi(f[16]), 0); /* flat maps are misses */
        }
        /* the box columns are the sample's box (no scaling at 96 x 96) */
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(atoi(f[10 + k]), box[k]);
        if (isnan(energy))
            ck_assert_str_eq(f[18], "");
        else
            ck_assert_double_eq_tol(atof(f[18]), energy, 1e-6);
        if (strstr(f[1], "fmnist_cnn.pt") && !strcmp(f[3], "rsi") &&
            !strcmp(f[4], "relu") && !strcmp(f[5], "softmax"))
            relu_hits += atoi(f[16]);
        rows++;
    }
    fclose(fp);
    ck_assert_int_eq(rows, 2 * N_SETTINGS * N_IMAGES);
    return relu_hits;
}

/* Table rows: "MODEL LAYER METHOD SCORE MAPS POINTING HITS ...". */
static void check_table(const char *out, int relu_hits)
{
    int rows = 0, seen_relu = 0;
    for (const char *p = out; p && *p;
         p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        char model[64], layer[64], method[64], score[64], hits[32];
        int maps;
        double pointing;
        if (sscanf(p, "%63s %63s %63s %63s %d %lf %31s", model, layer, method,
                   score, &maps, &pointing, hits) != 7 ||
            strncmp(model, "fmnist_cnn", 10) != 0)
            continue;
        rows++;
        ck_assert_int_eq(maps, N_IMAGES);
        int h = -1, n = -1;
        ck_assert_int_eq(sscanf(hits, "%d/%d", &h, &n), 2);
        ck_assert_int_eq(n, N_IMAGES);
        ck_assert_double_eq_tol(pointing, (double)h / n, 1e-3);
        if (!strcmp(model, "fmnist_cnn.pt") && !strcmp(method, "rsi-relu") &&
            !strcmp(score, "softmax")) {
            ck_assert_int_eq(h, relu_hits);
            seen_relu = 1;
        }
    }
    ck_assert_msg(rows == 2 * N_SETTINGS, "%d table rows in:\n%s", rows, out);
    ck_assert(seen_relu);
    const char *methods[] = {" rsi-relu ", " rsi-guided ", " gradcam "};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strstr(out, methods[i]), "no%s row:\n%s", methods[i],
                      out);
}

/* rows x cols cells of 96, the gap around each, and at most one label
 * column (text wrapped to a cell) and header (<= 4 lines of 10 px). */
static void check_montage(const char *path, int rows, int cols)
{
    rsi_image img = {0};
    ck_assert_msg(rsi_image_read(path, 0, 0, &img) == 0, "%s",
                  rsi_error_message());
    int w = cols * CELL + (cols + 1) * GAP, h = rows * CELL + (rows + 1) * GAP;
    ck_assert_msg(img.width >= w && img.width <= w + CELL + GAP, "width %d",
                  img.width);
    ck_assert_msg(img.height >= h && img.height <= h + 4 * 10 + GAP,
                  "height %d", img.height);
    rsi_image_release(&img);
}

/* Runs the quickstart on the first N_IMAGES samples into dir; returns its
 * exit status, its output in *out. */
static int run_quickstart(const char *dir, char **out)
{
    /* the script's own override, so the test can run on other models */
    const char *models = getenv("RSICAM_QUICKSTART_MODELS");
    char model[4200];
    snprintf(model, sizeof model, "%s/fmnist_cnn.pt",
             models && *models ? models : tk_source("examples/models"));
    ck_assert_msg(access(model, R_OK) == 0,
                  "%s is missing (tools/train_classifier.py makes it)", model);
    return tk_sh(out,
                 "RSICAM_BIN=%s RSICAM_QUICKSTART_LIMIT=%d "
                 "RSICAM_QUICKSTART_OUT=%s bash %s",
                 tk_rsicam(), N_IMAGES, dir,
                 tk_source("examples/quickstart/run"));
}

START_TEST(quickstart_runs_and_numbers_come_from_the_maps)
{
    /* twice into one directory: the second run starts it afresh rather
     * than counting the first run's maps again */
    for (int run = 0; run < 2; run++) {
        char *out = NULL;
        int rc = run_quickstart(out_dir, &out);
        ck_assert_msg(rc == 0, "quickstart run %d exited %d:\n%s", run + 1, rc,
                      out);
        int relu_hits = check_csv(tk_path("localization.csv"));
        check_table(out, relu_hits);
        free(out);
    }
    /* input + rsi-relu softmax + gradcam softmax + gradcam logit */
    check_montage(tk_path("montage.png"), N_IMAGES, 4);
    check_montage(tk_path("montage_t20.png"), N_IMAGES, 4);
}
END_TEST

/* Whether path holds exactly text. */
static int holds(const char *path, const char *text)
{
    char *got = tk_read_file(path, NULL);
    const int same = got && strcmp(got, text) == 0;
    free(got);
    return same;
}

/* A directory the quickstart did not make is refused whole, and nothing
 * in it (a folder named like the quickstart's own, a table) is touched. */
START_TEST(quickstart_leaves_a_directory_it_did_not_make)
{
    char mine[4200], base[4300], notes[4400], table[4300];
    snprintf(mine, sizeof mine, "%s", tk_path("mine"));
    snprintf(base, sizeof base, "%s/base", mine);
    snprintf(notes, sizeof notes, "%s/notes.txt", base);
    snprintf(table, sizeof table, "%s/localization.txt", mine);
    ck_assert_int_eq(tk_sh(NULL, "mkdir -p '%s'", base), 0);
    tk_write_text(notes, "my notes\n");
    tk_write_text(table, "my table\n");
    char *out = NULL;
    int rc = run_quickstart(mine, &out);
    ck_assert_msg(rc == RSI_ERR_OUTPUT, "quickstart exited %d, not %d:\n%s", rc,
                  RSI_ERR_OUTPUT, out);
    ck_assert_msg(out && strstr(out, mine) && strchr(out, '\n') &&
                      !strchr(strchr(out, '\n') + 1, '\n'),
                  "not one line naming %s:\n%s", mine, out ? out : "");
    free(out);
    ck_assert_msg(holds(notes, "my notes\n"), "%s was changed", notes);
    ck_assert_msg(holds(table, "my table\n"), "%s was changed", table);
    char t20[4300];
    snprintf(t20, sizeof t20, "%s/t20", mine);
    ck_assert_msg(access(t20, F_OK) != 0, "%s was made", t20);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quickstart");
    TCase *tc = tcase_create("run");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, quickstart_runs_and_numbers_come_from_the_maps);
    tcase_add_test(tc, quickstart_leaves_a_directory_it_did_not_make);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
