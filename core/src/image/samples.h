/* rsicam — sample lists: which images to use, with their true class and,
 * where known, a box around the object.
 *
 * A list is a CSV file whose first line names its columns:
 *
 *   image,label,x0,y0,x1,y1
 *   0000.png,0,70,1,89,32
 *   cats/tabby.jpg,tabby cat,,,,
 *
 *   image           required; a path relative to the list file's directory
 *                   (absolute paths are kept)
 *   label           optional; a class index (digits only) or a class name
 *   x0,y0,x1,y1     optional, all four or none; the box in the ORIGINAL
 *                   image's pixels, x0,y0 inclusive, x1,y1 exclusive
 *                   (fractions allowed)
 *
 * Columns may come in any order; unknown columns are ignored, so lists can
 * carry extra data for other tools. Fields may be double-quoted ("a,b.png";
 * "" inside quotes is one quote), surrounding spaces are trimmed, blank
 * lines are skipped, a UTF-8 BOM and CRLF line ends are accepted. An empty
 * label cell means no label; four empty box cells mean no box.
 *
 * Any malformed line fails the whole read with an RSI_ERR_INPUT message
 * "FILE:LINE: reason": a list that is silently half-read would give
 * metrics over the wrong images.
 */
#ifndef RSICAM_SAMPLES_H
#define RSICAM_SAMPLES_H

#include <stdint.h>

typedef struct rsi_box {
    double x0, y0, x1, y1;
} rsi_box;

typedef struct rsi_sample {
    char *image;      /* the list's dir joined with the cell, as written */
    int64_t label;    /* class index; -1 when none or given by name */
    char *label_name; /* the class name when given by name, else NULL */
    int has_box;
    rsi_box box;
    int line; /* 1-based line in the list file, for messages */
} rsi_sample;

typedef struct rsi_sample_list {
    char *path; /* the list file, as given */
    rsi_sample *items;
    int n;
} rsi_sample_list;

/* Reads a list file into *out (zeroed first; on failure left empty). */
int rsi_samples_read(const char *path, rsi_sample_list *out);

/* Turns labels given by name into indices using the model's class names
 * (labels[0..n_labels)); an unknown name fails with "FILE:LINE: ...". */
int rsi_samples_resolve_labels(rsi_sample_list *list, const char *const *labels,
                               int n_labels);

/* Frees everything; a zeroed or already freed list is fine. */
void rsi_samples_free(rsi_sample_list *list);

#endif
