/* Tests: the static HTML report (report_html.h) — its rows, means,
 * escaping, links and failure handling, read back from the file. (Loading
 * it in a browser is tests/report/check_report.sh.) */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "report_html.h"
#include "rsicam/error.h"
#include "testkit.h"

static void setup(void)
{
    tk_scratch_open("report_html");
}

static void teardown(void)
{
    tk_scratch_close();
}

/* out/index.html, which must be there. */
static char *index_page(void)
{
    char *page = tk_read_file(tk_path("out/index.html"), NULL);
    ck_assert_msg(page != NULL, "cannot open %s", tk_path("out/index.html"));
    return page;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* out/, where each test writes its results and reads its page. */
static void make_out(void)
{
    ck_assert_int_eq(rsi_mkdir_p(tk_path("out")), 0);
}

/* The report of out/ (title NULL: the default), written and read back. */
static char *report_page(const char *title)
{
    ck_assert_msg(rsi_report_html_write(tk_path("out"), title) == 0, "%s",
                  rsi_error_message());
    return index_page();
}

/* The part of page between the element with this id and its </table>. */
static char *table_of(const char *page, const char *id)
{
    char key[128];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *a = strstr(page, key);
    ck_assert_msg(a != NULL, "no table %s", id);
    const char *b = strstr(a, "</table>");
    ck_assert_ptr_nonnull(b);
    return strndup(a, (size_t)(b - a));
}

/* Two settings (relu and gradcam at layer4) on two images, one with a
 * name full of markup, one failure with markup in its error, and a torn
 * line. */
static const char results[] =
    "{\"status\":\"ok\",\"image\":\"/data/cat.png\",\"model\":\"/m/net.pt\","
    "\"layer\":\"layer4\",\"method\":\"rsi\",\"variant\":\"relu\","
    "\"score\":\"softmax\",\"class\":3,\"probability\":0.5,"
    "\"baseline\":\"zero\",\"path\":\"linear\",\"steps\":50,\"points\":51,"
    "\"ig_sum\":0.4,\"completeness_rel\":0.25,\"deletion_auc\":0.25,"
    "\"drop\":0.25,\"increased\":true,\"seconds\":2,"
    "\"overlay\":\"cat.layer4.rsi-relu.softmax.png\"}\n"
    "{\"status\":\"ok\",\"image\":\"/data/a&b "
    "<x>.png\",\"model\":\"/m/net.pt\","
    "\"layer\":\"layer4\",\"method\":\"rsi\",\"variant\":\"relu\","
    "\"score\":\"softmax\",\"class\":3,\"probability\":0.75,"
    "\"baseline\":\"zero\",\"path\":\"linear\",\"steps\":50,\"points\":51,"
    "\"completeness_rel\":null,\"deletion_auc\":0.75,\"drop\":0.75,"
    "\"increased\":false,\"seconds\":4,"
    "\"overlay\":\"a&b <x>.layer4.rsi-relu.softmax.png\"}\n"
    "{\"status\":\"ok\",\"image\":\"/data/cat.png\",\"model\":\"/m/net.pt\","
    "\"layer\":\"layer4\",\"method\":\"gradcam\",\"variant\":\"\","
    "\"score\":\"softmax\",\"class\":3,\"probability\":0.5,"
    "\"baseline\":\"zero\",\"path\":\"linear\",\"steps\":50,\"points\":51,"
    "\"my_metric\":7,\"overlay\":\"cat.layer4.gradcam.softmax.png\"}\n"
    "{\"status\":\"failed\",\"image\":\"/data/bad.png\",\"model\":\"/m/"
    "net.pt\","
    "\"error\":\"image '<script>alert(1)</script>': truncated & 'odd'\","
    "\"error_class\":3}\n"
    "{\"status\":\"ok\",\"image\":\"/data/torn\n"
    "\n";

START_TEST(settings_rows_and_means)
{
    make_out();
    tk_write_text(tk_path("out/results.jsonl"), results);
    char *page = report_page(NULL);
    ck_assert(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    ck_assert(strstr(page, "<title>rsicam report</title>"));
    ck_assert(strstr(page, "3 maps of 2 images in 2 settings; 1 failed; "
                           "1 unreadable lines"));

    char *set = table_of(page, "settings");
    ck_assert_int_eq(count(set, "<tr>"), 3); /* header + 2 settings */
    /* No "setting" names in the records: no such column. */
    ck_assert_ptr_null(strstr(set, ">setting</th>"));
    /* Known metrics first, in their order, then the rest; bookkeeping
     * fields (class, ig_sum, points) are not columns. */
    const char *cols[] = {
        ">probability<",   ">completeness gap",         ">deletion AUC",
        ">Average Drop %", ">Increase in Confidence %", ">my_metric<"};
    const char *at = set;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        const char *p = strstr(at, cols[i]);
        ck_assert_msg(p != NULL, "column %s missing or out of order", cols[i]);
        at = p;
    }
    ck_assert_ptr_null(strstr(set, "ig_sum"));
    ck_assert_ptr_null(strstr(set, ">class<"));
    ck_assert_ptr_null(strstr(set, ">points<"));
    ck_assert_ptr_null(strstr(set, ">seconds<"));
    /* relu: 2 maps; probability (0.5 + 0.75) / 2, completeness only
     * where finite (0.25), drop 100 (0.25 + 0.75) / 2, increased 1 of 2. */
    ck_assert(strstr(set, "<td class=\"num\" data-v=\"2\">2</td>"));
    ck_assert(strstr(set, "data-v=\"0.625\">0.625</td>"
                          "<td class=\"num\" data-v=\"0.25\">0.25</td>"
                          "<td class=\"num\" data-v=\"0.5\">0.5</td>"
                          "<td class=\"num\" data-v=\"50\">50</td>"
                          "<td class=\"num\" data-v=\"50\">50</td>"
                          "<td class=\"num\"></td></tr>"));
    /* gradcam: one map, only probability and my_metric 7. */
    ck_assert(strstr(set, "<td>gradcam</td><td></td>"));
    ck_assert(strstr(set, "<td class=\"num\"></td><td class=\"num\" "
                          "data-v=\"7\">7</td></tr>"));
    /* The model shows as its file name, its path on hover. */
    ck_assert(strstr(set, "<td title=\"/m/net.pt\">net.pt</td>"));
    free(set);

    char *thumbs = table_of(page, "thumbs");
    ck_assert_int_eq(count(thumbs, "<img "), 3);
    ck_assert(strstr(thumbs, "<th>#1 layer4 rsi-relu softmax</th>"
                             "<th>#2 layer4 gradcam softmax</th>"));
    /* cat has both maps; a&b only relu: an empty cell for gradcam. */
    ck_assert(strstr(thumbs, "src=\"cat.layer4.gradcam.softmax.png\""));
    ck_assert(strstr(thumbs, "softmax.png\"></a></td><td></td></tr>"));
    free(thumbs);
    ck_assert_ptr_null(strstr(page, "id=\"summary\""));
    free(page);
}
END_TEST

START_TEST(everything_escaped)
{
    make_out();
    tk_write_text(tk_path("out/results.jsonl"), results);
    char *page = report_page("<b>Run</b> & \"co\"");
    /* Only our own markup: the one script element, no <b> or <x>. */
    ck_assert_int_eq(count(page, "<script"), 1);
    ck_assert_ptr_null(strstr(page, "<b>"));
    ck_assert_ptr_null(strstr(page, "<x>"));
    ck_assert(strstr(page, "<title>&lt;b&gt;Run&lt;/b&gt; &amp; "
                           "&quot;co&quot;</title>"));
    ck_assert(strstr(page, "<li><code>/data/bad.png</code>: image "
                           "&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;: "
                           "truncated &amp; &#39;odd&#39;</li>"));
    /* Names: escaped as text, percent-encoded as links. */
    ck_assert(strstr(page, "<th title=\"/data/a&amp;b &lt;x&gt;.png\">"
                           "a&amp;b &lt;x&gt;.png</th>"));
    ck_assert(strstr(page, "<a href=\"a%26b%20%3Cx%3E.layer4.rsi-relu."
                           "softmax.png\"><img loading=\"lazy\" "
                           "src=\"a%26b%20%3Cx%3E.layer4.rsi-relu."
                           "softmax.png\" alt=\"a&amp;b &lt;x&gt;.layer4."
                           "rsi-relu.softmax.png\"></a>"));
    free(page);

    char *e = rsi_html_escape("<a href='x'>&\"</a>");
    ck_assert_str_eq(e, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    free(e);
    e = rsi_html_escape("");
    ck_assert_str_eq(e, "");
    free(e);
}
END_TEST

START_TEST(summary_csv_table)
{
    make_out();
    tk_write_text(tk_path("out/results.jsonl"), results);
    tk_write_text(tk_path("out/summary.csv"),
                  "setting,\"note, quoted\",auc\r\n"
                  "relu,\"say \"\"<hi>\"\"\",0.5\r\n"
                  "gradcam,,1e-3\r\n");
    char *page = report_page(NULL);
    char *sum = table_of(page, "summary");
    ck_assert(strstr(sum, "<th tabindex=\"0\">setting</th>"
                          "<th tabindex=\"0\">note, quoted</th>"
                          "<th tabindex=\"0\">auc</th>"));
    ck_assert(strstr(sum, "<tr><td>relu</td><td>say &quot;&lt;hi&gt;&quot;"
                          "</td><td class=\"num\" data-v=\"0.5\">0.5</td>"
                          "</tr>"));
    ck_assert(strstr(sum, "<tr><td>gradcam</td><td></td><td class=\"num\" "
                          "data-v=\"0.001\">1e-3</td></tr>"));
    ck_assert_int_eq(count(sum, "<tr>"), 3);
    free(sum);
    free(page);
}
END_TEST

START_TEST(setting_names_and_atomic_write)
{
    const char *dir = tk_path("out");
    ck_assert_int_eq(rsi_mkdir_p(dir), 0);
    tk_write_text(
        tk_path("out/results.jsonl"),
        "{\"setting\":\"fast\",\"image\":\"i.png\",\"layer\":\"l\","
        "\"method\":\"rsi\",\"variant\":\"plain\",\"score\":\"logit\","
        "\"steps\":8,\"overlay\":\"i.png.l.png\"}\n"
        "{\"setting\":\"slow\",\"image\":\"i.png\",\"layer\":\"l\","
        "\"method\":\"rsi\",\"variant\":\"plain\",\"score\":\"logit\","
        "\"steps\":8,\"overlay\":\"j.png\"}\n");
    tk_write_text(tk_path("out/index.html"), "old");
    ck_assert_int_eq(rsi_report_html_write(dir, "t"), 0);
    char *page = index_page();
    char *set = table_of(page, "settings");
    ck_assert(strstr(set, ">setting</th>"));
    ck_assert(strstr(set, "<td>fast</td>"));
    ck_assert(strstr(set, "<td>slow</td>"));
    ck_assert_int_eq(count(set, "<tr>"), 3);
    free(set);
    ck_assert(strstr(page, "<th>#2 slow l rsi-plain logit</th>"));
    free(page);
    /* No temporary file left next to the page. */
    DIR *d = opendir(dir);
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL)
        ck_assert_msg(!strstr(ent->d_name, ".tmp."), "left: %s", ent->d_name);
    closedir(d);
}
END_TEST

START_TEST(missing_results_fails)
{
    const char *dir = tk_path("empty");
    ck_assert_int_eq(rsi_mkdir_p(dir), 0);
    ck_assert_int_eq(rsi_report_html_write(dir, NULL), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    ck_assert(strstr(rsi_error_message(), "results.jsonl"));
    rsi_error_clear();
    struct stat st;
    ck_assert_int_ne(stat(tk_path("empty/index.html"), &st), 0);

    /* An unwritable directory: an output error, nothing left behind. */
    const char *ro = tk_path("ro");
    ck_assert_int_eq(rsi_mkdir_p(ro), 0);
    tk_write_text(tk_path("ro/results.jsonl"), results);
    chmod(ro, 0555);
    if (access(ro, W_OK) != 0) { /* root writes anyway: skip that part */
        ck_assert_int_eq(rsi_report_html_write(ro, NULL), -1);
        ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_OUTPUT);
        rsi_error_clear();
    }
    chmod(ro, 0755);
}
END_TEST

/* An experiment's records (experiment_run.c decorates them): two
 * baselines that differ only in a parameter, both "blur" at the top level,
 * told apart by setting_id and settings; a second target (top2) of one of
 * them; and the bookkeeping numbers unit, forwards and seconds. */
static void write_experiment_records(const char *path)
{
    static const struct {
        const char *id, *target, *sigma;
    } set[] = {{"00000000000000a1", "top1", "0.5"},
               {"00000000000000b2", "top1", "2"},
               {"00000000000000c3", "top2", "2"}};
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    int unit = 0;
    for (int im = 0; im < 2; im++)
        for (int s = 0; s < 3; s++, unit++)
            fprintf(fp,
                    "{\"status\":\"ok\",\"image\":\"img%d.png\","
                    "\"model\":\"m.pt\",\"layer\":\"conv2\",\"method\":\"rsi\","
                    "\"variant\":\"relu\",\"score\":\"softmax\","
                    "\"target\":\"%s\",\"class\":1,\"probability\":0.5,"
                    "\"baseline\":\"blur\",\"path\":\"linear\",\"steps\":8,"
                    "\"points\":9,\"seconds\":%d.5,\"unit\":%d,"
                    "\"forwards\":9,\"group\":\"g%d\",\"stem\":\"img%d\","
                    "\"setting_id\":\"%s\",\"settings\":{\"layer\":\"conv2\","
                    "\"method\":\"rsi-relu\",\"score\":\"softmax\","
                    "\"target\":\"%s\",\"baseline\":{\"name\":\"blur\","
                    "\"sigma\":%s},\"path\":{\"name\":\"linear\"},"
                    "\"steps\":8},\"overlay\":\"maps/s%d/img%d.png\"}\n",
                    im, set[s].target, 10 * unit, unit, s, im, set[s].id,
                    set[s].target, set[s].sigma, s, im);
    fclose(fp);
}

START_TEST(settings_told_apart_by_parameters)
{
    make_out();
    write_experiment_records(tk_path("out/results.jsonl"));
    char *page = report_page(NULL);
    ck_assert(strstr(page, "6 maps of 2 images in 3 settings"));
    char *set = table_of(page, "settings");
    ck_assert_int_eq(count(set, "<tr>"), 4); /* header + 3 settings */
    /* The plugin with its parameters, in every row. */
    ck_assert_int_eq(count(set, "<td>blur sigma=0.5</td>"), 1);
    ck_assert_int_eq(count(set, "<td>blur sigma=2</td>"), 2);
    ck_assert_int_eq(count(set, "<td>linear</td>"), 3);
    ck_assert(strstr(set, ">target</th>"));
    ck_assert_int_eq(count(set, "<td>top2</td>"), 1);
    free(set);
    char *thumbs = table_of(page, "thumbs");
    ck_assert_int_eq(count(thumbs, "<img "), 6); /* none hidden */
    /* Each heading says what sets its setting apart from the others. */
    ck_assert_msg(strstr(thumbs, "<th>#1 conv2 rsi-relu softmax top1 "
                                 "blur sigma=0.5</th>"
                                 "<th>#2 conv2 rsi-relu softmax top1 "
                                 "blur sigma=2</th>"
                                 "<th>#3 conv2 rsi-relu softmax top2 "
                                 "blur sigma=2</th>"),
                  "headings: %.400s", strstr(thumbs, "<th>#"));
    free(thumbs);
    free(page);
}
END_TEST

/* unit, forwards and seconds are bookkeeping, not qualities of a map: a
 * mean of unit numbers or of shared pass times means nothing. */
START_TEST(bookkeeping_not_averaged)
{
    make_out();
    write_experiment_records(tk_path("out/results.jsonl"));
    char *page = report_page(NULL);
    char *set = table_of(page, "settings");
    ck_assert_ptr_null(strstr(set, ">unit<"));
    ck_assert_ptr_null(strstr(set, ">seconds<"));
    ck_assert_ptr_null(strstr(set, ">forwards<"));
    ck_assert(strstr(set, ">probability<"));
    free(set);
    free(page);
}
END_TEST

/* The page fits a 1400-pixel window (check_report.sh measures it in a
 * browser): wide tables scroll inside their own box, images and long
 * unbroken names shrink or wrap instead of widening the page. */
START_TEST(page_fits_the_window)
{
    make_out();
    tk_write_text(tk_path("out/results.jsonl"), results);
    tk_write_text(tk_path("out/summary.csv"), "a,b\n1,2\n");
    char *page = report_page(NULL);
    ck_assert(strstr(page, "body{") && strstr(page, "max-width:1400px"));
    ck_assert(strstr(page, "overflow-wrap:anywhere"));
    ck_assert(strstr(page, ".wide{overflow-x:auto;max-width:100%}"));
    ck_assert(strstr(page, "img{max-width:100%"));
    /* Every table sits in a scroll box of its own. */
    ck_assert_int_eq(count(page, "<div class=\"wide\"><table"), 3);
    ck_assert_int_eq(count(page, "<table"), 3);
    free(page);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("page");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, settings_rows_and_means);
    tcase_add_test(tc, everything_escaped);
    tcase_add_test(tc, summary_csv_table);
    tcase_add_test(tc, setting_names_and_atomic_write);
    tcase_add_test(tc, missing_results_fails);
    tcase_add_test(tc, settings_told_apart_by_parameters);
    tcase_add_test(tc, bookkeeping_not_averaged);
    tcase_add_test(tc, page_fits_the_window);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run(report_suite());
}
