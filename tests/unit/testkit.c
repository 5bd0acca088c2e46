/* Helpers shared by the Check suites (see testkit.h). */
#include "testkit.h"

#include <check.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "regular_file.h"
#include "rsicam/error.h"

static char scratch[1024];

const char *tk_scratch_open(const char *suite)
{
    const char *base = getenv("RSICAM_TEST_TMP");
    snprintf(scratch, sizeof scratch, "%s/%s.%ld",
             base && *base ? base : "/tmp/rsicam-test", suite, (long)getpid());
    ck_assert_msg(rsi_mkdir_p(scratch) == 0, "%s", rsi_error_message());
    return scratch;
}

static int remove_entry(const char *p, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    chmod(p, 0755); /* tests make read-only directories */
    return remove(p);
}

void tk_rm_rf(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tk_write_text(const char *path, const char *text)
{
    ck_assert_msg(rsi_write_file_atomic(path, text, strlen(text)) == 0, "%s",
                  rsi_error_message());
}

char *tk_read_file(const char *path, size_t *n)
{
    /* what tests read is theirs or rsicam's output: the bound only keeps
     * a runaway file from exhausting memory */
    char *text = NULL;
    size_t len = 0;
    const char *why = NULL;
    if (rsi_read_regular(path, (size_t)1 << 30, &text, &len, &why) < 0)
        return NULL;
    if (n)
        *n = len;
    return text;
}

void tk_scratch_close(void)
{
    if (scratch[0])
        tk_rm_rf(scratch);
}

static const char *ring(const char *a, const char *b)
{
    static char p[16][4096];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", a, b);
    return p[k];
}

const char *tk_path(const char *name)
{
    return ring(scratch, name);
}

const char *tk_test_plugin(const char *rel)
{
    const char *base = getenv("RSICAM_TEST_PLUGIN_DIR");
    ck_assert_msg(base && *base, "RSICAM_TEST_PLUGIN_DIR is not set");
    return ring(base, rel);
}

const char *tk_fixture(const char *name)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "fx/%s", name);
    return ring(scratch, rel);
}

void tk_fixtures_make(const char *suite, const char *script)
{
    static int made;
    if (made)
        return;
    tk_scratch_open(suite);
    char rel[256], *out = NULL;
    snprintf(rel, sizeof rel, "tests/fixtures/%s", script);
    int rc = tk_sh(&out, "'%s' '%s' '%s'", tk_python(), tk_source(rel),
                   tk_path("fx"));
    ck_assert_msg(rc == 0, "%s failed (%d): %s", script, rc, out);
    free(out);
    made = 1;
}

const char *tk_source(const char *rel)
{
    const char *src = getenv("RSICAM_SOURCE_DIR");
    return ring(src && *src ? src : ".", rel);
}

const char *tk_rsicam(void)
{
    const char *bin = getenv("RSICAM_BIN");
    ck_assert_msg(bin && *bin, "RSICAM_BIN is not set");
    return bin;
}

const char *tk_python(void)
{
    return tk_source("tools/rsicam-python");
}

int tk_sh(char **output, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[8300];
    snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    ck_assert_msg(p != NULL, "cannot run: %s", cmd);
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 1024) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown)
                break;
            buf = grown;
        }
    }
    if (buf)
        buf[n] = '\0';
    int status = pclose(p);
    if (output)
        *output = buf;
    else
        free(buf);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double tk_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int tk_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
