/* rsicam evaluate: what its parts share (evaluate.c reads the records and
 * runs the command, evaluate_table.c prints and writes the numbers and
 * names methods and files for all three, evaluate_montage.c draws the
 * montage). */
#ifndef RSICAM_CLI_EVALUATE_H
#define RSICAM_CLI_EVALUATE_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "localize.h"
#include "map_kinds.h"
#include "samples.h"

/* One setting: the maps of one model, layer, method, variant and score. */
typedef struct setting {
    char *model, *layer, *method, *variant, *score;
    char *target; /* the record's class rule ("top1", ...); "" when none */
    int order;    /* --select position; INT_MAX without --select */
    int maps, hits, flat, energy_n, labelled, correct, prob_n;
    double energy_sum, prob_sum;
} setting;

/* One evaluated map. */
typedef struct map_row {
    int setting, sample;
    char *heatmap, *overlay; /* paths */
    int heat_w, heat_h;
    int64_t class_index;
    double probability;
    int correct; /* -1 when the sample has no label */
    rsi_pixel_box box;
    rsi_localization loc;
} map_row;

typedef struct sample_ref {
    char *real; /* realpath of the sample's image */
    int index;
} sample_ref;

typedef struct evaluation {
    rsi_sample_list samples;
    sample_ref *refs; /* sorted by real */
    int n_refs;
    int *src_w, *src_h; /* per sample; 0 until read */
    cli_list select;
    setting *settings;
    int n_settings, cap_settings;
    map_row *maps;
    int n_maps, cap_maps;
    char **class_names; /* class index -> label, learned from the records */
    int n_class_names;
    int failed, unmatched, no_box, no_heatmap, filtered;
    char *first_unmatched;
} evaluation;

/* The file name of a path. */
const char *ev_base_name(const char *path);
/* A setting's score column ("softmax", or "softmax/top1" with a target). */
void ev_score_text(const evaluation *ev, const setting *s, char *out,
                   size_t size);
/* The settings' indexes in print order (new array). */
int *ev_setting_order(const evaluation *ev);
/* The aggregated table, one line per setting in order ord. */
void ev_print_table(const evaluation *ev, const int *ord, FILE *out);
/* One CSV line per map. */
int ev_write_csv(const evaluation *ev, const char *path);
/* The montage PNG: rows images, columns input and the settings in ord. */
int ev_write_montage(const evaluation *ev, const int *ord, const char *path,
                     int rows);

#endif
