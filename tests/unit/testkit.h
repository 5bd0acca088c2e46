/* Helpers shared by the Check suites: a scratch directory per suite, and
 * running the rsicam command or a Python fixture script. */
#ifndef RSICAM_TESTKIT_H
#define RSICAM_TESTKIT_H

#include <check.h>
#include <stddef.h>

/* Creates $RSICAM_TEST_TMP/<suite>.<pid> (fails the test when it cannot);
 * returns its path. */
const char *tk_scratch_open(const char *suite);
/* Removes the scratch directory and everything in it. */
void tk_scratch_close(void);
/* "<scratch>/<name>"; the last few results stay valid at once. */
const char *tk_path(const char *name);
/* "$RSICAM_SOURCE_DIR/<rel>". */
const char *tk_source(const char *rel);
/* Runs the fixture script tests/fixtures/<script> into <scratch>/fx,
 * opening the suite's scratch directory, once per process (unchecked
 * fixtures run in the parent); later calls do nothing. */
void tk_fixtures_make(const char *suite, const char *script);
/* "<scratch>/fx/<name>"; the last few results stay valid at once. */
const char *tk_fixture(const char *name);
/* "$RSICAM_TEST_PLUGIN_DIR/<rel>": a test plugin folder built from
 * tests/plugins/ ("set/good"); the last few results stay valid at once. */
const char *tk_test_plugin(const char *rel);
/* Removes a directory tree (no error when it does not exist). */
void tk_rm_rf(const char *dir);
/* Writes text to path whole, replacing what was there (fails the test when
 * it cannot). */
void tk_write_text(const char *path, const char *text);
/* The whole of path, NUL-terminated (malloc'd), its length in *n (n may be
 * NULL); NULL when it is not a regular file that can be read. */
char *tk_read_file(const char *path, size_t *n);

/* Runs a shell command line; stdout+stderr go to *output (malloc'd, may be
 * NULL). Returns the exit status (or 128 + signal). */
int tk_sh(char **output, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The rsicam binary under test ($RSICAM_BIN). */
const char *tk_rsicam(void);
/* The Python launcher that imports torch (tools/rsicam-python). */
const char *tk_python(void);

/* Seconds on the monotonic clock, for timing a call within a test. */
double tk_now(void);

/* Runs a suite (CK_VERBOSITY picks the detail) and frees it; returns
 * EXIT_SUCCESS when every test passed, for main() to return. */
int tk_run(Suite *s);

#endif
