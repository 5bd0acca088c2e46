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
    RSI_RK_BASELINE,
    RSI_RK_PATH,
    RSI_REPORT_NKEYS
};
extern const char *const rsi_report_key_names[RSI_REPORT_NKEYS];

typedef struct rsi_report_column {
    const char *name; /* borrowed from the records */
    int rank;         /* rsi_report_known_rank, or after every known one */
} rsi_report_column;

typedef struct rsi_report_setting {
    const char *key[RSI_REPORT_NKEYS]; /* borrowed; "" when absent */
    json_int_t steps;                  /* -1 when absent */
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
    int has_setting_name;
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
