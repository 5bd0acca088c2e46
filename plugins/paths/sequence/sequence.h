/* The "sequence" path's sources of points (sources.c). */
#ifndef RSICAM_PLUGIN_SEQUENCE_H
#define RSICAM_PLUGIN_SEQUENCE_H

#include "rsicam/plugin.h"

/* Where the points come from: one array, or image files read one by one. */
typedef struct seq_source {
    rsi_tensor *array; /* [P, C, H, W] from a .npy file, or NULL */
    char **files;      /* P image paths when array is NULL */
    int64_t count;     /* P */
} seq_source;

/* Opens points as a .npy array (by its name), a directory of images or a
 * text file listing images. Checks that there are at least two points
 * and that every listed file exists. Returns 0 or -1. */
int seq_source_open(seq_source *src, const rsi_host_api *h, const char *points);
void seq_source_close(seq_source *src, const rsi_host_api *h);

#endif
