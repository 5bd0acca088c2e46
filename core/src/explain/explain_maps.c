/* rsicam — the sums turned into maps, records and files (explain_impl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain_impl.h"
#include "fileio.h"
#include "map_kinds.h"
#include "results.h"

/* The records of one map: one per rule that chose its class (explain
 * without rules: just one). The hook sees the first; the others copy it,
 * so that metrics are computed once per map, not once per rule. */
static int add_records(rsi_explainer *e, image_facts *f, rsi_map_record *rec,
                       const char *stem, int class_slot, const float *heat,
                       rsi_score_kind kind)
{
    const int n_rules = e->opt.n_rules;
    json_t *first = NULL;
    for (int r = 0; r < (n_rules ? n_rules : 1); r++) {
        if (n_rules && f->rule_class[r] != class_slot)
            continue;
        rec->target = n_rules ? e->opt.rules[r].tag : NULL;
        json_t *o;
        if (!first) {
            o = rsi_results_map_json(rec, e->opt.file_prefix, stem,
                                     e->opt.files);
            rsi_map_view view = {.image_path = f->path,
                                 .img = f->img,
                                 .x = f->x,
                                 .heatmap = heat,
                                 .class_index = rec->class_index,
                                 .score = kind};
            if (o && e->opt.hook &&
                e->opt.hook(e->opt.hook_user, e->model, &view, o) < 0) {
                json_decref(o);
                return -1;
            }
            first = o;
        } else if ((o = json_deep_copy(first)) != NULL) {
            json_object_set_new(o, "target", json_string(rec->target));
        }
        if (!o || json_array_append_new(f->records, o) < 0) {
            rsi_error("out of memory");
            return -1;
        }
    }
    return 0;
}

/* The cam on the host, for the thread that writes it. */
static rsi_tensor *host_copy(const rsi_tensor *cam)
{
    const int64_t shape[2] = {rsi_tensor_size(cam, 0), rsi_tensor_size(cam, 1)};
    float *v = malloc((size_t)(shape[0] * shape[1]) * sizeof *v);
    rsi_tensor *out =
        v && rsi_tensor_to_floats(cam, v, shape[0] * shape[1]) == 0
            ? rsi_tensor_from_floats(v, shape, 2)
            : NULL;
    if (!v)
        rsi_error("out of memory");
    free(v);
    return out;
}

/* A new entry in files for stem with room for an H x W heatmap. */
static ex_map_file *add_file(ex_files *files, const char *stem, int64_t n)
{
    if (files->n == files->cap) {
        int cap = files->cap ? 2 * files->cap : 8;
        ex_map_file *grown = realloc(files->maps, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        files->maps = grown;
        files->cap = cap;
    }
    ex_map_file *m = &files->maps[files->n];
    *m = (ex_map_file){.stem = strdup(stem),
                       .heat = malloc((size_t)n * sizeof(float))};
    files->n++; /* released with the others, even half made */
    return m->stem && m->heat ? m : NULL;
}

/* One map: its cam, heatmap and records now, its files into files. */
static int make_map(rsi_explainer *e, image_facts *f, ex_files *files,
                    rsi_map_record *rec, const char *stem, rsi_tensor *cam,
                    int class_slot, rsi_score_kind kind)
{
    const int64_t H = f->img->height, W = f->img->width;
    ex_map_file *m = add_file(files, stem, H * W);
    if (!m) {
        rsi_error("out of memory");
        return -1;
    }
    if (!cam || rsi_cam_heatmap(cam, H, W, m->heat) < 0 ||
        !(m->cam = host_copy(cam)))
        return -1;
    return add_records(e, f, rec, stem, class_slot, m->heat, kind);
}

/* The thread's error, for ex_files_finish() to raise. */
static void *failed(ex_files *files)
{
    rsi_error_keep(&files->error);
    files->failed = 1;
    return NULL;
}

static void *write_main(void *arg)
{
    ex_files *files = arg;
    if (files->make.e &&
        ex_make_maps(files->make.e, files->make.p, files->make.f, files) < 0)
        return failed(files);
    /* one sync for them all: ex_files_finish; off again at the end, since
     * without a thread this runs on the caller's, whose later commits
     * (summaries, reports) must stay synced */
    rsi_fileio_defer_sync(1);
    int rc = 0;
    while (rc == 0 && files->written < files->n) {
        const ex_map_file *m = &files->maps[files->written];
        rc = rsi_results_write_files(files->out_dir, m->stem, files->which,
                                     m->cam, m->heat, files->img);
        files->written += rc == 0; /* complete files only */
    }
    rsi_fileio_defer_sync(0);
    return rc < 0 ? failed(files) : NULL;
}

void ex_maps_start(rsi_explainer *e, const pass *p, image_facts *f,
                   ex_files *files)
{
    files->make.e = e;
    files->make.p = p;
    files->make.f = f;
    ex_files_start(files);
}

void ex_files_start(ex_files *files)
{
    files->started =
        pthread_create(&files->thread, NULL, write_main, files) == 0;
    if (!files->started) /* no thread: written now */
        write_main(files);
}

int ex_files_finish(ex_files *files, json_t *written)
{
    if (files->started)
        pthread_join(files->thread, NULL);
    files->started = 0;
    for (int i = 0; i < files->written; i++)
        if (json_array_append_new(written, json_string(files->maps[i].stem)) <
            0) {
            rsi_error("out of memory");
            for (int j = i; j < files->written; j++)
                rsi_results_remove_files(files->out_dir, files->maps[j].stem);
            return -1;
        }
    if (files->failed) {
        rsi_error_raise(&files->error);
        return -1;
    }
    return rsi_fileio_sync(files->out_dir ? files->out_dir : ".");
}

void ex_files_discard(ex_files *files)
{
    if (files->started)
        pthread_join(files->thread, NULL);
    files->started = 0;
    for (int i = 0; i < files->written; i++)
        rsi_results_remove_files(files->out_dir, files->maps[i].stem);
    files->written = 0;
}

void ex_files_release(ex_files *files)
{
    if (files->started)
        pthread_join(files->thread, NULL);
    for (int i = 0; i < files->n; i++) {
        free(files->maps[i].stem);
        free(files->maps[i].heat);
        rsi_tensor_free(files->maps[i].cam);
    }
    free(files->maps);
    *files = (ex_files){0};
}

int ex_make_maps(rsi_explainer *e, const pass *p, image_facts *f,
                 ex_files *files)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const int nl = p->n_layers;
    files->out_dir = e->opt.out_dir;
    files->which = e->opt.files;
    files->img = f->img;
    rsi_map_record rec = {
        .image = f->path,
        .model = e->opt.model_name,
        .baseline = e->opt.baseline->desc->name,
        .path = e->opt.path->desc->name,
        .steps = p->steps,
        .tol = e->opt.tol,
        .points = p->points,
        .seconds = f->seconds,
    };
    int rc = 0;
    for (int t = 0; rc == 0 && t < p->n_targets; t++) {
        const int c = t / e->n_kinds;
        rec.class_index = f->classes[c];
        rec.probability = f->probabilities[c];
        rec.label = rec.class_index < info->num_labels
                        ? info->labels[rec.class_index]
                        : NULL;
        /* the class joins the name when an image has several, or when
         * rules choose it (names then do not depend on the image) */
        char class_tag[32] = "";
        if (f->n_classes > 1 || e->opt.n_rules > 0)
            snprintf(class_tag, sizeof class_tag, ".c%lld",
                     (long long)rec.class_index);
        for (int l = 0; rc == 0 && l < nl; l++) {
            const rsi_rs_layer *layer = &p->layers[l];
            const rsi_rs_sum *sum = &p->sums[t * nl + l];
            rec.layer = e->opt.layers[l];
            rec.score = rsi_score_kind_name(p->targets[t].kind);
            rec.score_image = p->score_last[t];
            rec.score_baseline = p->score_first[t];
            for (int m = 0; rc == 0 && m < rsi_map_kind_count(); m++) {
                const rsi_map_kind *k = rsi_map_kind_at(m);
                if (!rsi_map_kind_chosen(k, e->opt.methods, e->opt.variants))
                    continue;
                rsi_tensor *cam = k->cam(sum, layer);
                rec.has_ig = k->integrates &&
                             rsi_tensor_sum_all(sum->ig, &rec.ig_sum) == 0;
                rec.method = k->method;
                rec.variant = k->variant;
                char stem[512];
                snprintf(stem, sizeof stem, "%s.%s.%s.%s%s", f->stem, rec.layer,
                         k->name, rec.score, class_tag);
                rec.warning = ex_zero_map_warning(f, &rec, cam);
                rc = make_map(e, f, files, &rec, stem, cam, c,
                              p->targets[t].kind);
                rsi_tensor_free(cam);
            }
        }
    }
    return rc;
}
