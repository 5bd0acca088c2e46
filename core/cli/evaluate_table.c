/* rsicam evaluate: the table, the per-map CSV, and how both (and the
 * montage) name files and scores (methods: map_kinds.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "fileio.h"
#include "rsicam/error.h"
#include "summary.h"

const char *ev_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Settings in --select order, then in order of first appearance. */
static const evaluation *sort_ev;
static int cmp_order(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    int oi = sort_ev->settings[i].order, oj = sort_ev->settings[j].order;
    return oi != oj ? (oi < oj ? -1 : 1) : i - j;
}

int *ev_setting_order(const evaluation *ev)
{
    int *ord = malloc((size_t)(ev->n_settings + 1) * sizeof *ord);
    if (!ord) {
        rsi_error("out of memory");
        return NULL;
    }
    for (int i = 0; i < ev->n_settings; i++)
        ord[i] = i;
    sort_ev = ev;
    qsort(ord, (size_t)ev->n_settings, sizeof *ord, cmp_order);
    return ord;
}

/* The score, and the class rule where settings differ in it
 * ("softmax@label"). */
void ev_score_text(const evaluation *ev, const setting *s, char *out, size_t n)
{
    int differ = 0;
    for (int i = 0; i < ev->n_settings; i++)
        differ |= strcmp(ev->settings[i].target, s->target) != 0;
    differ = differ && *s->target;
    snprintf(out, n, "%s%s%s", s->score, differ ? "@" : "",
             differ ? s->target : "");
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static void print_mean(FILE *out, int width, double sum, int n)
{
    if (n)
        fprintf(out, "  %*.3f", width, sum / n);
    else
        fprintf(out, "  %*s", width, "-");
}

void ev_print_table(const evaluation *ev, const int *ord, FILE *out)
{
    int wm = 5, wl = 5, wx = 6, ws = 5;
    for (int i = 0; i < ev->n_settings; i++) {
        const setting *s = &ev->settings[i];
        char name[256], score[256];
        rsi_map_kind_join(s->method, s->variant, name, sizeof name);
        ev_score_text(ev, s, score, sizeof score);
        wm = max_int(wm, (int)strlen(ev_base_name(s->model)));
        wl = max_int(wl, (int)strlen(s->layer));
        wx = max_int(wx, (int)strlen(name));
        ws = max_int(ws, (int)strlen(score));
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %5s  %8s  %9s  %4s  %6s  %5s  %5s\n",
            wm, "model", wl, "layer", wx, "method", ws, "score", "maps",
            "pointing", "hits", "flat", "energy", "top1", "prob");
    for (int i = 0; i < ev->n_settings; i++) {
        const setting *s = &ev->settings[ord[i]];
        char name[256], score[256], hits[32];
        rsi_map_kind_join(s->method, s->variant, name, sizeof name);
        ev_score_text(ev, s, score, sizeof score);
        snprintf(hits, sizeof hits, "%d/%d", s->hits, s->maps);
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %5d", wm, ev_base_name(s->model),
                wl, s->layer, wx, name, ws, score, s->maps);
        print_mean(out, 8, s->hits, s->maps);
        fprintf(out, "  %9s  %4d", hits, s->flat);
        print_mean(out, 6, s->energy_sum, s->energy_n);
        print_mean(out, 5, s->correct, s->labelled);
        print_mean(out, 5, s->prob_sum, s->prob_n);
        fputc('\n', out);
    }
    fprintf(out, "pointing: share of maps whose first maximum lies in the "
                 "box; flat: maps with no maximum (misses, no energy);\n"
                 "energy: mean share of the map's sum inside the box; "
                 "top1: prediction = label; prob: mean probability\n");
}

static void csv_row(FILE *fp, const evaluation *ev, const map_row *m)
{
    const setting *st = &ev->settings[m->setting];
    const rsi_sample *s = &ev->samples.items[m->sample];
    char label[32] = "", prob[32] = "", energy[32] = "", nums[256];
    if (s->label >= 0)
        snprintf(label, sizeof label, "%lld", (long long)s->label);
    if (isfinite(m->probability))
        snprintf(prob, sizeof prob, "%.9g", m->probability);
    if (!isnan(m->loc.energy))
        snprintf(energy, sizeof energy, "%.9g", m->loc.energy);
    const char *text[] = {s->image,
                          st->model,
                          st->layer,
                          st->method,
                          st->variant,
                          st->score,
                          s->label_name ? s->label_name : label};
    for (int k = 0; k < 7; k++)
        rsi_csv_field(fp, text[k], 0);
    snprintf(nums, sizeof nums, "%lld,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%s",
             (long long)m->class_index,
             m->correct < 0 ? ""
             : m->correct   ? "1"
                            : "0",
             prob, m->box.x0, m->box.y0, m->box.x1, m->box.y1, m->loc.argmax_x,
             m->loc.argmax_y, m->loc.hit, m->loc.flat, energy);
    fprintf(fp, "%s,", nums);
    rsi_csv_field(fp, m->heatmap, 0);
    rsi_csv_field(fp, st->target, 1);
}

int ev_write_csv(const evaluation *ev, const char *path)
{
    rsi_atomic_file f;
    if (rsi_atomic_open(&f, path) < 0)
        return -1;
    fputs("image,model,layer,method,variant,score,label,class,correct,"
          "probability,box_x0,box_y0,box_x1,box_y1,argmax_x,argmax_y,hit,"
          "flat,energy,heatmap,target\n",
          f.fp);
    for (int i = 0; i < ev->n_maps; i++)
        csv_row(f.fp, ev, &ev->maps[i]);
    return rsi_atomic_commit(&f);
}
