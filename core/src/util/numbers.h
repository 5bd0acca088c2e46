/* rsicam — numbers a user types: one checked parser for the command line,
 * experiment files and plugin parameters, and the bounds they share.
 *
 * A bound lives here once, so `--steps` and `steps:` refuse the same
 * values, and a value that would overflow an int, exhaust memory or make a
 * tensor of infinities is a usage error before any work starts.
 */
#ifndef RSICAM_NUMBERS_H
#define RSICAM_NUMBERS_H

#include <stddef.h>
#include <stdint.h>

/* Path steps (fixed, or the finest of --steps auto). */
#define RSI_STEPS_MAX 1000000
/* Path points per forward pass. */
#define RSI_BATCH_MAX 1000000
/* libtorch threads. */
#define RSI_THREADS_MAX 4096
/* A model input's side, in pixels: 4096 x 4096 x 3 float32 is 200 MB a
 * path point, past what a CPU explains in reasonable time. */
#define RSI_INPUT_SIDE_MAX 4096
/* Normalisation: |mean| at most this, std in [RSI_STD_MIN, RSI_STD_MAX],
 * so that (pixel - mean) / std stays far from float32's overflow. */
#define RSI_MEAN_ABS_MAX 1e6
#define RSI_STD_MIN 1e-6
#define RSI_STD_MAX 1e6

/* The whole of text as a base-10 integer within [min, max]: no blanks, no
 * trailing characters, no overflow. Returns 0, or -1 (no error set: the
 * caller names the option). */
int rsi_parse_int(const char *text, int64_t min, int64_t max, int64_t *out);

/* The whole of text as a finite number (an underflow to a tiny number is
 * fine). Returns 0 or -1 as rsi_parse_int. */
int rsi_parse_double(const char *text, double *out);

/* The shortest "%.Ng" text of a finite d that reads back as d exactly:
 * 0.2 as "0.2" (not 0.20000000000000001), 2 as "2". */
void rsi_format_shortest(double d, char *buf, size_t size);

#endif
