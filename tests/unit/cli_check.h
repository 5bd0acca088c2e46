/* Running `rsicam` in the CLI suites (test_cli_*.c) and checking what it
 * left behind. Needs Check and jansson; the scratch directory and the
 * binary come from testkit.h. */
#ifndef RSICAM_CLI_CHECK_H
#define RSICAM_CLI_CHECK_H

#include <jansson.h>
#include <stddef.h>

/* Exit codes (rsicam/error.h) */
enum { USAGE = 2, INPUT = 3, MODEL = 4, PLUGIN = 5, OUTPUT = 6 };

/* One run of the command. */
typedef struct run {
    int rc;
    char *text;      /* stdout + stderr */
    char out[4096];  /* the --out directory: <scratch>/<tag> */
    long maxrss_kib; /* largest child's peak memory */
} run;

void run_free(run *r);

/* Runs the shell command line fmt, recording exit status, output and peak
 * memory; r->out is set to <scratch>/<tag>. */
void sh_run(run *r, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* `rsicam explain --quiet --steps 4 --batch 3 --out <scratch>/<tag> ARGS`:
 * quiet, so that every line of output is a warning or an error. */
void explain(run *r, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The index-th line of text that is not a warning (0-based), copied into
 * line; 0 when there is none. */
int error_line(const char *text, int index, char *line, size_t n);
int count_error_lines(const char *text);

/* The exit code is code, the output holds exactly lines error lines (no
 * stack traces, no libvips or libtorch chatter), each starting "rsicam: ",
 * and the first contains every one of the NULL-terminated words. */
void expect_error(const run *r, int code, int lines, ...);
/* Exit 0 and no error line. */
void expect_success(const run *r);

/* Calls f on each name in dir (not "." or ".."); returns how many there
 * were (-1: no directory). */
int each_file(const char *dir, void (*f)(const char *, void *), void *arg);
/* No temporary files in dir. */
void expect_no_tmp(const char *dir);
/* Files in dir whose names start with prefix and end with suffix. */
int count_files(const char *dir, const char *prefix, const char *suffix);
/* Every map in dir is whole: as many .cam.npy as .heatmap.npy as overlay
 * .png files, and no temporary file. Returns the number of maps. */
int expect_whole_maps(const char *dir);

/* results.jsonl of dir as a JSON array (empty when there is none); every
 * line must be a whole JSON object. */
json_t *results(const char *dir);
/* o[key] as a string ("" when absent). */
const char *str(json_t *o, const char *key);
/* Records of results.jsonl for image with the given status. */
int count_records(const char *dir, const char *image, const char *status);
/* image is recorded once as failed, with error class code and a message
 * naming it, and has no map files. */
void expect_failed(const char *dir, const char *image, int code);

#endif
