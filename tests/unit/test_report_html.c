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

static void write_text(const char *path, const char *text)
{
    ck_assert_msg(rsi_write_file_atomic(path, text, strlen(text)) == 0, "%s",
                  rsi_error_message());
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
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
    const char *dir = tk_path("out");
    ck_assert_int_eq(rsi_mkdir_p(dir), 0);
    write_text(tk_path("out/results.jsonl"), results);
    ck_assert_msg(rsi_report_html_write(dir, NULL) == 0, "%s",
                  rsi_error_message());
    char *page = read_all(tk_path("out/index.html"));
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
        ">Average Drop %", ">Increase in Confidence %", ">seconds<",
        ">my_metric<"};
    const char *at = set;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        const char *p = strstr(at, cols[i]);
        ck_assert_msg(p != NULL, "column %s missing or out of order", cols[i]);
        at = p;
    }
    ck_assert_ptr_null(strstr(set, "ig_sum"));
    ck_assert_ptr_null(strstr(set, ">class<"));
    ck_assert_ptr_null(strstr(set, ">points<"));
    /* relu: 2 maps; probability (0.5 + 0.75) / 2, completeness only
     * where finite (0.25), drop 100 (0.25 + 0.75) / 2, increased 1 of 2. */
    ck_assert(strstr(set, "<td class=\"num\" data-v=\"2\">2</td>"));
    ck_assert(strstr(set, "data-v=\"0.625\">0.625</td>"
                          "<td class=\"num\" data-v=\"0.25\">0.25</td>"
                          "<td class=\"num\" data-v=\"0.5\">0.5</td>"
                          "<td class=\"num\" data-v=\"50\">50</td>"
                          "<td class=\"num\" data-v=\"50\">50</td>"
                          "<td class=\"num\" data-v=\"3\">3</td>"
                          "<td class=\"num\"></td></tr>"));
    /* gradcam: one map, only probability, seconds-less, my_metric 7. */
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
    const char *dir = tk_path("out");
    ck_assert_int_eq(rsi_mkdir_p(dir), 0);
    write_text(tk_path("out/results.jsonl"), results);
    ck_assert_int_eq(rsi_report_html_write(dir, "<b>Run</b> & \"co\""), 0);
    char *page = read_all(tk_path("out/index.html"));
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
    const char *dir = tk_path("out");
    ck_assert_int_eq(rsi_mkdir_p(dir), 0);
    write_text(tk_path("out/results.jsonl"), results);
    write_text(tk_path("out/summary.csv"), "setting,\"note, quoted\",auc\r\n"
                                           "relu,\"say \"\"<hi>\"\"\",0.5\r\n"
                                           "gradcam,,1e-3\r\n");
    ck_assert_int_eq(rsi_report_html_write(dir, NULL), 0);
    char *page = read_all(tk_path("out/index.html"));
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
    write_text(tk_path("out/results.jsonl"),
               "{\"setting\":\"fast\",\"image\":\"i.png\",\"layer\":\"l\","
               "\"method\":\"rsi\",\"variant\":\"plain\",\"score\":\"logit\","
               "\"steps\":8,\"overlay\":\"i.png.l.png\"}\n"
               "{\"setting\":\"slow\",\"image\":\"i.png\",\"layer\":\"l\","
               "\"method\":\"rsi\",\"variant\":\"plain\",\"score\":\"logit\","
               "\"steps\":8,\"overlay\":\"j.png\"}\n");
    write_text(tk_path("out/index.html"), "old");
    ck_assert_int_eq(rsi_report_html_write(dir, "t"), 0);
    char *page = read_all(tk_path("out/index.html"));
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
    write_text(tk_path("ro/results.jsonl"), results);
    chmod(ro, 0555);
    if (access(ro, W_OK) != 0) { /* root writes anyway: skip that part */
        ck_assert_int_eq(rsi_report_html_write(ro, NULL), -1);
        ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_OUTPUT);
        rsi_error_clear();
    }
    chmod(ro, 0755);
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run(report_suite());
}
