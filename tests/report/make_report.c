/* make_report DIR: a small explain-like output directory (overlay PNGs,
 * results.jsonl with awkward names and a failure, summary.csv) and its
 * index.html, for check_report.sh to load in a browser.
 *
 * Three settings; their "my_metric" are 10, 9 and missing, so that
 * sorting that column ascending gives #2, #1, #3 only when numbers
 * compare as numbers ("10" < "9" as text) and missing values go last.
 *
 * Wider than a 1400-pixel window if let be: a failed image with a long
 * unbroken name and a summary.csv of many columns. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "image.h"
#include "report_html.h"
#include "results.h"
#include "rsicam/error.h"

static const char *const images[] = {"cat.png", "a&b <x> 'q'.png"};
static const struct {
    const char *method, *variant;
    double my_metric; /* < 0: absent */
} settings[] = {{"rsi", "relu", 10}, {"rsi", "plain", 9}, {"gradcam", "", -1}};

static int overlay(const char *dir, const char *name, int shade)
{
    enum { W = 16, H = 16 };
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        rgb[3 * i] = (uint8_t)(i * 255 / (W * H));
        rgb[3 * i + 1] = (uint8_t)shade;
        rgb[3 * i + 2] = 128;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return rsi_image_write_png(path, rgb, W, H);
}

static int record(const char *dir, int im, int s)
{
    char name[256];
    snprintf(name, sizeof name, "%s.layer4.%s%s%s.softmax.png", images[im],
             settings[s].method, *settings[s].variant ? "-" : "",
             settings[s].variant);
    if (overlay(dir, name, 80 * s) < 0)
        return -1;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i,"
        " s:f, s:f, s:b, s:s}",
        "status", "ok", "image", images[im], "model", "/models/net.pt", "layer",
        "layer4", "method", settings[s].method, "variant", settings[s].variant,
        "score", "softmax", "baseline", "zero", "path", "linear", "steps", 16,
        "probability", 0.5 + 0.1 * s, "deletion_auc", 0.2 * (s + 1),
        "increased", s == 1, "overlay", name);
    if (settings[s].my_metric >= 0)
        json_object_set_new(o, "my_metric", json_real(settings[s].my_metric));
    char *line = json_dumps(o, JSON_COMPACT);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, RSI_RESULTS_FILE);
    int rc = line ? rsi_append_line(path, line) : -1;
    free(line);
    json_decref(o);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_report DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4096];
    int rc = rsi_mkdir_p(dir);
    for (int im = 0; im < 2 && rc == 0; im++)
        for (int s = 0; s < 3 && rc == 0; s++)
            rc = record(dir, im, s);
    if (rc == 0)
        rc = rsi_results_write_failure(
            dir, "broken <img src=x onerror=alert(1)>.png", "/models/net.pt",
            "image: truncated </li><script>alert(2)</script>", RSI_ERR_INPUT);
    char long_name[600];
    memset(long_name, 'x', sizeof long_name - 5);
    strcpy(long_name + sizeof long_name - 5, ".png");
    if (rc == 0)
        rc = rsi_results_write_failure(dir, long_name, "/models/net.pt",
                                       "image: unreadable", RSI_ERR_INPUT);
    snprintf(path, sizeof path, "%s/%s", dir, RSI_SUMMARY_FILE);
    static const char csv[] = "setting,maps,\"note\"\n"
                              "rsi-relu,2,\"<i>fine</i>, \"\"really\"\"\"\n"
                              "gradcam,2,\n";
    char wide[4096]; /* csv, then 60 more columns */
    int n = snprintf(wide, sizeof wide, "%.*s", (int)strcspn(csv, "\n"), csv);
    for (int c = 0; c < 60; c++)
        n += snprintf(wide + n, sizeof wide - (size_t)n, ",column_%d", c);
    n += snprintf(wide + n, sizeof wide - (size_t)n, "%s",
                  csv + strcspn(csv, "\n"));
    if (rc == 0)
        rc = rsi_write_file_atomic(path, wide, (size_t)n);
    if (rc == 0)
        rc = rsi_report_html_write(dir,
                                   "check_report <script>alert(3)</script>");
    if (rc < 0) {
        fprintf(stderr, "make_report: %s\n", rsi_error_message());
        return 1;
    }
    return 0;
}
