/* Plugins that crash, and plugin directories full of things that are not
 * ours (issue #21): discovery runs foreign code, so a crash there must
 * cost a warning naming the file, never the run; a crash inside a
 * plugin's entry point must end the run with one line naming the plugin;
 * and listing thousands of plugins must not map them all.
 *
 * The crashing plugins come from tests/plugins/crashing.c, each in its own
 * group beside a good one ("survivor") that is scanned after it. */

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_check.h"
#include "plugin_registry.h"
#include "testkit.h"

/* Copies of many.so: enough that keeping each mapped would show. */
enum { N_COPIES = 2000 };

static void make_fixtures(void)
{
    tk_fixtures_make("plugin_crash", "make_bad_inputs.py");
}

/* The warning line that names file (fails unless there is one). */
static char *warning_for(const char *text, const char *file)
{
    const char *hit = strstr(text, file);
    ck_assert_msg(hit != NULL, "no line names %s in:\n%s", file, text);
    const char *start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    size_t len = strcspn(start, "\n");
    char *line = strndup(start, len);
    ck_assert_msg(strncmp(line, "rsicam: warning: skipping plugin ", 33) == 0,
                  "not a skip warning: %s", line);
    return line;
}

/* `ENV rsicam plugins --plugin-path GROUP`: exits 0, lists the survivor
 * and the shipped plugins, and warns once about the bad file, in a line
 * that holds why and detail. */
static void expect_skipped(const char *env, const char *group, const char *file,
                           const char *why, const char *detail)
{
    run r;
    sh_run(&r, group, "%s '%s' plugins --plugin-path '%s' 2>&1", env,
           tk_rsicam(), tk_test_plugin(group));
    ck_assert_msg(r.rc == 0, "exit %d:\n%s", r.rc, r.text);
    ck_assert_msg(strstr(r.text, "  survivor 0.1.0 (license: MIT)\n"), "%s",
                  r.text);
    ck_assert_msg(strstr(r.text, "  zero "), "%s", r.text);
    ck_assert_msg(strstr(r.text, "Searched, in order"), "%s", r.text);
    char *line = warning_for(r.text, file);
    ck_assert_msg(strstr(line, why), "'%s' lacks '%s'", line, why);
    ck_assert_msg(strstr(line, detail), "'%s' lacks '%s'", line, detail);
    free(line);
    /* one warning for it, not one per restart */
    ck_assert_ptr_null(strstr(strstr(r.text, file) + 1, file));
    run_free(&r);
}

START_TEST(constructor_abort_is_skipped)
{
    expect_skipped("", "crash_ctor", "/crash_ctor/aborts/aborts.so",
                   "crashed while loading", "signal 6 (SIGABRT)");
}
END_TEST

START_TEST(init_crash_is_skipped)
{
    expect_skipped("", "crash_init", "/crash_init/segv_init/segv_init.so",
                   "crashed while loading", "signal 11 (SIGSEGV)");
}
END_TEST

/* A constructor that waits for ever costs its file, after the limit, and
 * not the run. */
START_TEST(constructor_that_never_returns_is_skipped)
{
    time_t t0 = time(NULL);
    expect_skipped("RSICAM_PLUGIN_SCAN_TIMEOUT=1", "hang_ctor",
                   "/hang_ctor/hangs/hangs.so", "still loading after 1 s",
                   "stopped (RSICAM_PLUGIN_SCAN_TIMEOUT sets the limit)");
    ck_assert_msg(time(NULL) - t0 < 60, "took %lds", (long)(time(NULL) - t0));
}
END_TEST

START_TEST(bad_scan_timeout_is_refused)
{
    static const char *const bad[] = {"soon", "0", "-1", "1e9", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        run r;
        sh_run(&r, "bad_timeout",
               "RSICAM_PLUGIN_SCAN_TIMEOUT='%s' '%s' plugins", bad[i],
               tk_rsicam());
        char words[64];
        snprintf(words, sizeof words, "got '%s'", bad[i]);
        expect_error(&r, USAGE, 1,
                     "RSICAM_PLUGIN_SCAN_TIMEOUT: expected "
                     "seconds",
                     words, NULL);
        run_free(&r);
    }
}
END_TEST

/* Both crashing groups at once, with the shipped plugins: every good one
 * is still usable, through a real run. */
START_TEST(crash_in_entry_point_is_named)
{
    run r;
    char file[4096];
    snprintf(file, sizeof file, "%s/segv_make/segv_make.so",
             tk_test_plugin("crash_make"));
    /* rsicam chains to the handler installed before its own: SIG_DFL, but
     * under AddressSanitizer (tools/check-sanitizers) ASan's, which reports
     * the crash and exits 1. This test is about SIG_DFL's. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan ? strdup(asan) : NULL, opts[2048];
    snprintf(opts, sizeof opts, "%s:handle_segv=0", asan ? asan : "");
    setenv("ASAN_OPTIONS", opts, 1);
    explain(&r, "crash_make",
            "--model '%s' --image '%s' --baseline segv_make --plugin-path "
            "'%s' 2>&1",
            tk_fixture("tiny.pt"), tk_fixture("good.png"),
            tk_test_plugin("crash_make"));
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    /* killed by the signal itself: the exit status stays the signal's */
    ck_assert_msg(r.rc == 128 + 11, "exit %d:\n%s", r.rc, r.text);
    char want[4200];
    snprintf(want, sizeof want,
             "rsicam: fatal signal 11 (SIGSEGV) in plugin 'segv_make' (%s)\n",
             file);
    ck_assert_msg(strstr(r.text, want), "no '%s' in:\n%s", want, r.text);
    run_free(&r);
}
END_TEST

/* A directory of libraries that are not plugins, whose constructors run
 * while scanning: the run goes on. The system's own library directory,
 * or, when scanning all of it would be slow, links to some of it. */
START_TEST(foreign_libraries_do_not_end_the_run)
{
    const char *sys = "/usr/lib/x86_64-linux-gnu";
    struct stat st;
    if (stat(sys, &st) != 0)
        return; /* not this layout: nothing to scan */
    run r;
    time_t t0 = time(NULL);
    sh_run(&r, "foreign",
           "RSICAM_PLUGIN_PATH='%s' '%s' plugins >'%s' 2>&1; s=$?; "
           "tail -c 4000 '%s'; exit $s",
           sys, tk_rsicam(), tk_path("foreign.log"), tk_path("foreign.log"));
    ck_assert_msg(r.rc == 0, "exit %d:\n%s", r.rc, r.text);
    ck_assert_msg(strstr(r.text, sys), "%s", r.text);
    ck_assert_msg(strstr(r.text, "Searched, in order"), "%s", r.text);
    ck_assert_msg(time(NULL) - t0 < 120, "took %lds", (long)(time(NULL) - t0));
    run_free(&r);
}
END_TEST

/* Lines of /proc/self/maps that map a file under dir. */
static int mapped_from(const char *dir)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, dir) != NULL;
    fclose(f);
    return n;
}

/* N_COPIES copies of many.so under distinct file names, so distinct
 * plugin names; returns the directory. */
static const char *make_copies(void)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/many/many.so", tk_test_plugin("many"));
    FILE *in = fopen(src, "rb");
    ck_assert_msg(in != NULL, "%s", src);
    static char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, in);
    fclose(in);
    ck_assert(n > 0 && n < sizeof bytes);
    const char *dir = tk_path("copies");
    static char keep[4096];
    snprintf(keep, sizeof keep, "%s", dir);
    ck_assert_int_eq(mkdir(keep, 0755), 0);
    for (int i = 0; i < N_COPIES; i++) {
        char file[4200];
        snprintf(file, sizeof file, "%s/many_%05d.so", keep, i);
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
        close(fd);
    }
    return keep;
}

START_TEST(many_plugins_are_not_kept_mapped)
{
    const char *dir = make_copies();
    rsi_registry *r = rsi_registry_new();
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(rsi_registry_add_dir(r, dir, "test", NULL), N_COPIES);
    ck_assert_int_eq(rsi_registry_count(r), N_COPIES);
    ck_assert_str_eq(rsi_registry_at(r, 7)->desc->name, "many_00007");
    /* listed, not loaded */
    ck_assert_int_eq(mapped_from(dir), 0);
    /* the one looked up is loaded, and only it */
    const rsi_plugin *p =
        rsi_registry_find(r, RSI_PLUGIN_BASELINE, "many_00042");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->desc->name, "many_00042");
    ck_assert_int_gt(mapped_from("many_00042.so"), 0);
    ck_assert_int_eq(mapped_from(dir), mapped_from("many_00042.so"));
    rsi_registry_free(r);

    /* and the command lists every one */
    run cmd;
    sh_run(&cmd, "many",
           "'%s' plugins --plugin-path '%s' 2>&1 | grep -c '^  many_'",
           tk_rsicam(), dir);
    ck_assert_int_eq(atoi(cmd.text), N_COPIES);
    run_free(&cmd);
}
END_TEST

static Suite *plugin_crash_suite(void)
{
    Suite *s = suite_create("plugin_crash");
    TCase *tc = tcase_create("crash");
    tcase_add_unchecked_fixture(tc, make_fixtures, NULL);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, constructor_abort_is_skipped);
    tcase_add_test(tc, init_crash_is_skipped);
    tcase_add_test(tc, constructor_that_never_returns_is_skipped);
    tcase_add_test(tc, bad_scan_timeout_is_refused);
    tcase_add_test(tc, crash_in_entry_point_is_named);
    tcase_add_test(tc, foreign_libraries_do_not_end_the_run);
    tcase_add_test(tc, many_plugins_are_not_kept_mapped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = tk_run(plugin_crash_suite());
    tk_scratch_close();
    return rc;
}
