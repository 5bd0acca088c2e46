/* rsicam — rendering the HTML report (internal to report_html.c, which
 * gathers what this writes; see report_html.h for the page's contents). */
#ifndef RSICAM_REPORT_PAGE_H
#define RSICAM_REPORT_PAGE_H

#include <jansson.h>
#include <stdio.h>

/* Fields that identify a setting, in display order. */
enum {
    RSI_RK_SETTING,
    RSI_RK_MODEL,
    RSI_RK_LAYER,
    RSI_RK_METHOD,
    RSI_RK_VARIANT,
    RSI_RK_SCORE,
    RSI_RK_TARGET,
    RSI_RK_BASELINE,
    RSI_RK_PATH,
    RSI_REPORT_NKEYS
};
extern const char *const rsi_report_key_names[RSI_REPORT_NKEYS];

typedef struct rsi_report_column {
    const char *name; /* borrowed from the records */
    int rank;         /* rsi_report_known_rank, or after every known one */
} rsi_report_column;

/* A setting is told apart from the others by all of its keys, its steps
 * and its setting_id (an experiment's hash of its full settings, plugin
 * parameters included; "" in explain's records). */
typedef struct rsi_report_setting {
    char *key[RSI_REPORT_NKEYS]; /* "" when absent; baseline and path with
                                    their parameters ("blur sigma=2") */
    const char *id;              /* setting_id, borrowed; "" when absent */
    json_int_t steps;            /* -1 when absent */
    long maps;
    double *sum; /* per column: sum and count of finite values */
    long *n;
} rsi_report_setting;

typedef struct rsi_report {
    json_t *records; /* array of every readable line */
    long bad_lines, failures, maps;
    rsi_report_column *cols; /* sorted by rank */
    int ncols;
    rsi_report_setting *set;
    int nset;
    const char **images; /* distinct, first seen first (borrowed) */
    int nimages;
    const char **cells; /* overlay per (image, setting), nimages * nset */
    int shown[RSI_REPORT_NKEYS]; /* a key some setting has: a column */
} rsi_report;

/* Display position of a known metric, or -1; known ones come first. */
int rsi_report_known_rank(const char *name);
int rsi_report_num_known(void);

/* A string field of a record ("" when absent or not a string). */
const char *rsi_report_str(json_t *o, const char *k);
/* 1 unless the record is a failure. */
int rsi_report_is_ok(json_t *o);

/* The whole page; csv is summary.csv's text or NULL. Write errors surface
 * in f's error flag. */
void rsi_report_page_write(FILE *f, const rsi_report *r, const char *title,
                           const char *csv);

#endif
