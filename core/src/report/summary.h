/* rsicam — summary.csv: an experiment's metrics per setting.
 *
 * One row per setting (setting_id), in the order settings first appear in
 * results.jsonl, with its settings, the number of maps, and for each
 * metric found in the records the mean and the sample standard deviation
 * (n - 1; empty below two values) over the images. Records where a metric
 * is null (no box, a flat map) are left out of that metric only, and
 * METRIC_n says how many counted.
 *
 * Metrics: probability, completeness_gap, completeness_rel, pointing,
 * energy, deletion_auc, insertion_auc, drop, increased (true = 1). Average
 * Drop and Increase in Confidence, as papers report them, are
 * 100 x drop_mean and 100 x increased_mean. Timings are left out, so that
 * runs of the same experiment give the same summary.
 */
#ifndef RSICAM_SUMMARY_H
#define RSICAM_SUMMARY_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define RSI_SUMMARY_FILE "summary.csv"

/* Reads results (a results.jsonl) and writes csv atomically. Returns the
 * number of settings, or -1 with an error. */
int rsi_summary_write(const char *results, const char *csv);

/* A CSV field, quoted when it holds a comma, quote or line break, then a
 * comma, or a newline when last. */
void rsi_csv_field(FILE *fp, const char *s, int last);

/* A plugin of a setting as text: "blur sigma=8" from {"name": "blur",
 * "sigma": 8} (every parameter: settings that differ only in one must
 * read differently); "" for NULL. Cut short to fit size. Returns buf. */
const char *rsi_settings_plugin_text(const json_t *p, char *buf, size_t size);

/* A setting's "steps" as text: the count, or "auto" (adaptive steps). */
const char *rsi_settings_steps(const json_t *settings, char *buf, size_t n);

#endif
