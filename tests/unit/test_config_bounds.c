/* YAML that once took rsicam minutes, or was quietly half read: nesting a
 * million deep, a mapping of 100k keys, a second document, a list longer
 * than any file is typed, a file that is not a file. Each must end fast
 * with one problem that says what is wrong, at its line. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "testkit.h"

/* Writes text to <scratch>/name; returns the path. */
static const char *write_file(const char *name, const char *text, size_t n)
{
    const char *path = tk_path(name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, n, fp), n);
    fclose(fp);
    return path;
}

/* Loads path, which must fail with one problem containing want at line
 * (-1: any), within seconds. */
static void expect_refused(const char *path, int line, const char *want,
                           double seconds)
{
    rsi_diag d = {0};
    double t0 = tk_now();
    rsi_cfg *c = rsi_cfg_load_file(path, &d);
    double took = tk_now() - t0;
    ck_assert_ptr_null(c);
    ck_assert_int_ge(d.n, 1);
    char *first = rsi_diag_format(&d, 0);
    ck_assert_msg(strstr(d.items[0].message, want), "'%s' not in: %s", want,
                  first);
    ck_assert_msg(line < 0 || d.items[0].line == line, "line %d: %s",
                  d.items[0].line, first);
    ck_assert_msg(took < seconds, "took %.2f s (at most %.1f): %s", took,
                  seconds, first);
    free(first);
    rsi_diag_free(&d);
}

/* 2 MB of '[': ran for minutes inside libyaml's loader (quadratic) before
 * the depth was checked. */
START_TEST(deep_nesting_stops_early)
{
    size_t n = 2000000;
    char *text = malloc(n + 4);
    memcpy(text, "a: ", 3);
    memset(text + 3, '[', n);
    text[n + 3] = '\n';
    const char *path = write_file("deep.yaml", text, n + 4);
    free(text);
    expect_refused(path, 1, "nested more than 64 levels deep", 1.0);
}
END_TEST

/* The same in block style, one level a line: the line of the 65th. */
START_TEST(deep_block_nesting_has_its_line)
{
    char text[20000] = "";
    size_t used = 0;
    for (int i = 0; i < 100; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%*sk:\n",
                                 2 * i, "");
    const char *path = write_file("deep_block.yaml", text, used);
    expect_refused(path, 65, "nested more than 64 levels deep", 1.0);
}
END_TEST

/* 100k keys: each once checked against every key before it (82 s). Read
 * in linear time now, with every duplicate still found. */
START_TEST(many_keys_linear)
{
    size_t cap = 4 << 20, used = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 100000; i++)
        used += (size_t)snprintf(text + used, cap - used, "key%d: %d\n", i, i);
    used += (size_t)snprintf(text + used, cap - used, "key77: again\n");
    const char *path = write_file("keys.yaml", text, used);
    free(text);
    rsi_diag d = {0};
    double t0 = tk_now();
    rsi_cfg *c = rsi_cfg_load_file(path, &d);
    double took = tk_now() - t0;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->n, 100000);
    ck_assert_int_eq(d.n, 1);
    ck_assert_msg(strstr(d.items[0].message,
                         "duplicate key 'key77' (first given at line 78)"),
                  "%s", d.items[0].message);
    ck_assert_int_eq(d.items[0].line, 100001);
    /* the later value wins, under the later key's line */
    ck_assert_str_eq(rsi_cfg_get(c, "key77")->text, "again");
    ck_assert_int_eq(rsi_cfg_key_node(c, "key77")->line, 100001);
    /* 82 s when quadratic; 4 s seen under ASan on a loaded machine */
    ck_assert_msg(took < 10.0, "took %.2f s", took);
    rsi_cfg_free(c);
    rsi_diag_free(&d);
}
END_TEST

/* Only the first document was read; the rest was ignored in silence. */
START_TEST(second_document_refused)
{
    const char text[] = "steps: 4\n---\nsteps: 8\n";
    const char *path = write_file("two.yaml", text, sizeof text - 1);
    expect_refused(path, 2, "a second YAML document", 1.0);
}
END_TEST

/* A list past the bound on values says so, and what to do instead (4.8M
 * images were refused as "aliases that expand exponentially?"). */
START_TEST(long_list_honest)
{
    size_t cap = 8 << 20, used = 0;
    char *text = malloc(cap);
    used += (size_t)snprintf(text, cap, "images:\n");
    for (int i = 0; i < 300000; i++)
        used += (size_t)snprintf(text + used, cap - used, "  - i%d.png\n", i);
    const char *path = write_file("long.yaml", text, used);
    free(text);
    /* the message is the point here; the time only says "not minutes" */
    expect_refused(path, -1, "a list too long to type", 10.0);
}
END_TEST

/* Aliases still expand, and one that names itself is refused. */
START_TEST(aliases)
{
    const char text[] = "a: &x [1, {k: v}]\nb: *x\n";
    const char *path = write_file("alias.yaml", text, sizeof text - 1);
    rsi_diag d = {0};
    rsi_cfg *c = rsi_cfg_load_file(path, &d);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(d.n, 0);
    const rsi_cfg *b = rsi_cfg_get(c, "b");
    ck_assert_int_eq(b->kind, RSI_CFG_LIST);
    ck_assert_int_eq(b->n, 2);
    ck_assert_str_eq(rsi_cfg_get(b->items[1], "k")->text, "v");
    rsi_cfg_free(c);
    rsi_diag_free(&d);
    const char rec[] = "a: &x [*x]\n";
    path = write_file("rec.yaml", rec, sizeof rec - 1);
    expect_refused(path, 1, "no complete anchor", 1.0);
}
END_TEST

/* A FIFO blocked the reader forever; a directory or device is no file. */
START_TEST(not_a_regular_file)
{
    const char *fifo = tk_path("exp.fifo");
    remove(fifo);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_refused(fifo, 0, "not a regular file (a FIFO)", 1.0);
    expect_refused("/dev/zero", 0, "not a regular file (a character device)",
                   1.0);
}
END_TEST

/* In the parent, before the tests fork, so that they share it. */
static void open_scratch(void)
{
    tk_scratch_open("config_bounds");
}

static Suite *config_bounds_suite(void)
{
    Suite *s = suite_create("config_bounds");
    TCase *tc = tcase_create("yaml");
    tcase_add_unchecked_fixture(tc, open_scratch, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deep_nesting_stops_early);
    tcase_add_test(tc, deep_block_nesting_has_its_line);
    tcase_add_test(tc, many_keys_linear);
    tcase_add_test(tc, second_document_refused);
    tcase_add_test(tc, long_list_honest);
    tcase_add_test(tc, aliases);
    tcase_add_test(tc, not_a_regular_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = tk_run(config_bounds_suite());
    tk_scratch_close();
    return rc;
}
