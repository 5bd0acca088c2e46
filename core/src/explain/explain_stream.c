/* rsicam — the image stream (explain_impl.h): images start as flights
 * (read, often ahead on threads, placed on the model's device, given a
 * baseline and an open path), and the points of their paths form one
 * stream cut into forwards of opt.batch rows: an image's points fill a
 * forward, and when they do not (a GPU takes hundreds of rows at once),
 * the next images' points fill the rest. Each image keeps its own targets
 * and sums (explain_feed.c); images still leave in order (explain.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain_impl.h"
#include "host_services.h"
#include "input.h"

void ex_flight_free(flight *fl)
{
    if (!fl)
        return;
    rsi_call_path_close(&fl->path);
    ex_image_row_release(&fl->image);
    ex_files_release(&fl->files); /* waits for its writer */
    ex_pass_release(&fl->p);
    rsi_image_release(&fl->img);
    rsi_tensor_free(fl->x);
    rsi_tensor_free(fl->baseline);
    json_decref(fl->f.records);
    json_decref(fl->f.written);
    free(fl);
}

/* The stem of a file name: no directory, no extension. */
static void image_stem(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    snprintf(out, n, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* The most points of a forward where the network after the layer is
 * wide (rsi_model_wide_tail). VGG19 `features.36` on a 2-core AMD EPYC:
 * its classifier's forward and gradient took 126 ms for 8 rows and 250 ms
 * for 51, so one image's 51 points cost 0.88 s in runs of 8 against 0.25
 * s in one (by hand); rows beyond an image's path buy little more, and
 * each holds its input (600 KB at 224x224). */
#define WIDE_TAIL_ROWS 64

void ex_settle_forward_rows(rsi_explainer *e)
{
    const int wide =
        e->opt.batch < WIDE_TAIL_ROWS ? rsi_model_wide_tail(e->model) : 0;
    if (wide < 0)
        rsi_error_clear(); /* the first forward says what is wrong */
    if (wide != 1 || rsi_model_set_head_rows(e->model, e->opt.batch) < 0)
        return;
    e->forward_rows = WIDE_TAIL_ROWS;
    if (e->trace.on)
        fprintf(stderr,
                "rsicam: trace: batch auto: the network after the layer is "
                "wide: forwards of up to %d points, the head %lld rows at "
                "a time\n",
                WIDE_TAIL_ROWS, (long long)e->opt.batch);
}

/* How many images' points a forward holds whole (0: one image's points
 * span forwards). An image's path takes m points of a forward's batch: its
 * own row, which stands for the last point of a path that ends at the
 * image, comes besides. */
int64_t ex_images_per_forward(const rsi_explainer *e)
{
    const int64_t n = ex_forward_rows(e) /
                      (ex_walks_path(e) && !ex_adaptive(e) ? e->opt.steps : 1);
    return e->opt.image_per_forward && n > 1 ? 1 : n;
}

/* The images read ahead: as many as a forward holds whole, and one more. */
static int ahead_slots(const rsi_explainer *e)
{
    const int64_t n = ex_images_per_forward(e) + 1;
    return n < RSI_EXPLAIN_READ_AHEAD ? (int)n : RSI_EXPLAIN_READ_AHEAD;
}

/* Starts reading the images queued after the started ones, as many as
 * there are slots (each on its thread), while the model runs. */
static void read_ahead(rsi_explainer *e)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const int slots = ahead_slots(e);
    const int64_t first = e->head + e->n_flights;
    for (int64_t j = first; j < e->n_queued && j < first + slots; j++) {
        if (e->queue[j].pixels.data)
            continue; /* held in memory: nothing to read */
        int reading = 0, idle = -1;
        for (int i = 0; i < slots; i++) {
            const rsi_read_ahead *a = &e->ahead[i];
            if (a->path && strcmp(a->path, e->queue[j].path) == 0)
                reading = 1;
            else if (!a->path && idle < 0)
                idle = i;
        }
        if (!reading && idle >= 0)
            rsi_read_ahead_start(&e->ahead[idle], e->queue[j].path, info);
    }
}

/* Reads, places and prepares the flight's image: its baseline and, for
 * the stream, its open path. */
static int flight_prepare(rsi_explainer *e, flight *fl)
{
    const rsi_model_info *info = rsi_model_get_info(e->model);
    const char *path = fl->f.path;
    rsi_tensor *host_x = NULL;
    int taken = 0;
    if (fl->img.data) /* queued in memory */
        taken = (host_x = rsi_input_from_image(&fl->img, info)) ? 1 : -1;
    for (int i = 0; !taken && i < ahead_slots(e); i++)
        taken = rsi_read_ahead_take(&e->ahead[i], path, &fl->img, &host_x);
    if (!taken)
        host_x = rsi_input_read(path, info, &fl->img);
    read_ahead(e);
    /* on the model's device from here on: baselines and paths follow it;
     * the key names the image to seeded random numbers, on any device */
    fl->x = host_x ? rsi_model_place(e->model, host_x) : NULL;
    const uint64_t key = fl->x ? rsi_image_key(host_x) : 0;
    rsi_tensor_free(host_x);
    if (!fl->x || rsi_error_pending())
        return -1;
    fl->t_read = ex_now();
    fl->ctx = (rsi_context){.model = e->model,
                            .info = info,
                            .image_path = path,
                            .cache_dir = e->opt.out_dir,
                            .image_key = key};
    if (ex_walks_path(e) &&
        !(fl->baseline = rsi_call_baseline(e->opt.baseline, e->baseline_values,
                                           &fl->ctx, fl->x)))
        return -1;
    fl->t_baseline = ex_now();
    if (ex_walks_path(e) && !ex_adaptive(e) &&
        rsi_call_path_open(&fl->path, e->opt.path, e->path_values, &fl->ctx,
                           fl->baseline, fl->x, e->opt.steps) < 0)
        return -1;
    return 0;
}

/* Starts the next queued image that has not started: 1 when there is
 * none, -1 out of memory. An image that cannot start is a failed flight. */
int ex_flight_start_next(rsi_explainer *e)
{
    const int64_t j = e->head + e->n_flights;
    if (j >= e->n_queued)
        return 1;
    if (e->n_flights == e->cap_flights) {
        int cap = e->cap_flights ? 2 * e->cap_flights : 4;
        flight **grown = realloc(e->flights, (size_t)cap * sizeof *grown);
        if (!grown)
            goto oom;
        e->flights = grown;
        e->cap_flights = cap;
    }
    flight *fl = calloc(1, sizeof *fl);
    if (!fl)
        goto oom;
    queued *q = &e->queue[j];
    fl->f.path = q->path;
    fl->f.label = q->label;
    fl->f.n_asked = q->n_classes;
    if (q->n_classes > 0)
        memcpy(fl->f.asked, q->classes,
               (size_t)q->n_classes * sizeof *fl->f.asked);
    fl->img = q->pixels; /* the flight owns them from here */
    q->pixels = (rsi_image){0};
    if (q->stem)
        snprintf(fl->f.stem, sizeof fl->f.stem, "%s", q->stem);
    else
        image_stem(q->path, fl->f.stem, sizeof fl->f.stem);
    fl->f.records = json_array();
    fl->f.written = json_array();
    if (!fl->f.records || !fl->f.written) {
        ex_flight_free(fl);
        goto oom;
    }
    fl->start = ex_now();
    e->flights[e->n_flights++] = fl;
    if (flight_prepare(e, fl) < 0)
        ex_flight_fail(fl);
    return 0;
oom:
    rsi_error("out of memory");
    return -1;
}

/* The flight's maps, records and files: all on a thread while the model
 * runs the next points, or, for a hook (which sees the caller's state of
 * the image), the maps here and the files on a thread. */
void ex_flight_make_maps(rsi_explainer *e, flight *fl)
{
    fl->maps_made = 1;
    fl->f.img = &fl->img;
    fl->f.x = fl->x;
    if (!e->opt.hook)
        ex_maps_start(e, &fl->p, &fl->f, &fl->files);
    else if (ex_make_maps(e, &fl->p, &fl->f, &fl->files) < 0)
        ex_flight_fail(fl);
    else
        ex_files_start(&fl->files);
}

/* The flight's walk is over: every point it gave has been summed. */
void ex_flight_walked(rsi_explainer *e, flight *fl)
{
    pass *p = &fl->p;
    if (fl->finished)
        return;
    if (!ex_walks_path(e)) {
        p->steps = e->opt.steps;
    } else if (!ex_adaptive(e)) {
        /* a path with its own points (sequence) sets the steps */
        p->steps = p->points - 1;
        if (p->points < 2) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "path '%s' produced %lld point(s); at least "
                                "2 are needed",
                                e->opt.path->desc->name, (long long)p->points);
            ex_flight_fail(fl);
            return;
        }
    }
    const double end = ex_now();
    fl->f.seconds = end - fl->start;
    ex_trace_image(&e->trace, fl, end);
    fl->finished = 1;
    /* at once, so that images ending together write their files together;
     * a hook (metrics) sees an image only when the caller asks for it */
    if (!e->opt.hook)
        ex_flight_make_maps(e, fl);
}

/* ---- the stream of points ------------------------------------------- */

/* Up to max of the flight's next points (1 with *out, 0 at the end, -1
 * with an error pending). Grad-CAM alone needs only the image itself. */
static int next_points(rsi_explainer *e, flight *fl, int64_t max,
                       rsi_tensor **out)
{
    if (!ex_walks_path(e)) {
        *out = rsi_tensor_narrow(fl->x, 0, 0, 1);
        fl->exhausted = 1;
        return *out ? 1 : -1;
    }
    rsi_path_call *c = &fl->path;
    const int rc = rsi_call_path_next(c, max, out);
    /* known at once, so that the image need not wait for the next forward
     * to learn that it has ended */
    if (rc == 0 || (rc == 1 && c->given >= c->total)) {
        fl->exhausted = 1;
        rsi_call_path_close(c);
    }
    return rc;
}

/* The path's last point, the last row of the last of the n pieces (got
 * points in all, kept: the image's row runs ahead of them), leaves the
 * forward when it is the image bit for bit (ex_drop_image_point), with its
 * piece if that was its only row: *n then counts one piece less. */
static int drop_image_point(flight *fl, int kept, int64_t got,
                            rsi_tensor **pieces, int64_t *n)
{
    rsi_tensor **piece = &pieces[*n - 1], *rest;
    const int dropped = ex_drop_image_point(fl, kept, got, *piece, &rest);
    if (dropped == 1) {
        rsi_tensor_free(*piece);
        *piece = rest;
        *n -= rest == NULL;
    }
    return dropped;
}

/* The points the next forward takes: opt.batch, except at the end of a
 * stream, or with opt.image_per_forward of each image's walk. Once every
 * image that the forward may serve has run its own row (and, in a shared
 * stream, every queued image has started), the rows left are known: each
 * path's points but its last, the image, which its row stands for. Rather
 * than end on a short forward of a few rows, a new input shape whose
 * kernels oneDNN makes afresh, the last forwards then take one point more
 * each, as many as that short forward would have held: never more rows
 * than a forward that starts an image (its points and its row). Where a
 * path's last point turns out not to be the image, the forwards are only
 * cut less well. */
static int64_t forward_points(const rsi_explainer *e)
{
    const int64_t cap = ex_forward_rows(e);
    const int alone = e->opt.image_per_forward;
    if (!ex_walks_path(e) || (!alone && e->head + e->n_flights < e->n_queued))
        return cap;
    int64_t points = 0, rows = 0;
    for (int i = 0; i < e->n_flights; i++) {
        const flight *fl = e->flights[i];
        if (fl->finished || fl->exhausted)
            continue;
        if (!fl->p.chosen || !fl->path.plugin || fl->path.total < 1)
            return cap; /* its own row is still to run */
        const int64_t left = fl->path.total - fl->path.given;
        points += left;
        rows += left - 1;
        if (alone)
            break; /* the forward serves this image only */
    }
    if (points == 0)
        return cap;
    if (rows <= cap + 1) /* the rest in one forward; the image's point, if
                            it does not fit, is then dropped without one */
        return points < cap + 1 ? points : cap + 1;
    const int64_t forwards = rows / cap, short_by = rows % cap;
    return short_by > 0 && short_by <= forwards ? cap + 1 : cap;
}

/* One forward of forward_points() points: the oldest flights' next points
 * in order, starting queued images while there is room (one image's only
 * with opt.image_per_forward). An image that starts brings its own row
 * besides (image_row), ahead of its points. Flights whose points have all
 * been summed then end their walk. */
int ex_stream_batch(rsi_explainer *e)
{
    const int64_t cap = forward_points(e);
    /* each part and each piece has at least one row, and a part at most
     * one image row besides */
    rsi_tensor **pieces = calloc((size_t)(2 * cap), sizeof *pieces);
    rsi_run_part *parts = calloc((size_t)cap, sizeof *parts);
    flight **owners = calloc((size_t)cap, sizeof *owners);
    if (!pieces || !parts || !owners) {
        free(pieces);
        free(parts);
        free(owners);
        rsi_error("out of memory");
        return -1;
    }
    int64_t n_pieces = 0, n_parts = 0;
    int rc = 0;
    int64_t budget = cap;
    for (int i = 0; budget > 0; i++) {
        if (e->opt.image_per_forward && n_parts > 0)
            break; /* the rest of the forward stays empty */
        if (i == e->n_flights && (rc = ex_flight_start_next(e)) != 0) {
            rc = rc < 0 ? -1 : 0; /* 1: nothing more to start */
            break;
        }
        flight *fl = e->flights[i];
        const int64_t first_piece = n_pieces;
        const int starts = fl->path.given == 0;
        const int kept = ex_walks_path(e) && !fl->p.chosen && !fl->finished &&
                         !fl->exhausted;
        if (kept && !(pieces[n_pieces++] = rsi_tensor_narrow(fl->x, 0, 0, 1)))
            ex_flight_fail(fl);
        int64_t got = 0;
        while (budget > 0 && !fl->exhausted && !fl->finished) {
            rsi_tensor *t = NULL;
            int r = next_points(e, fl, budget, &t);
            if (r < 0)
                ex_flight_fail(fl);
            if (r != 1)
                break;
            const int64_t b = rsi_tensor_size(t, 0);
            pieces[n_pieces++] = t;
            got += b;
            budget -= b;
        }
        if (fl->exhausted && !fl->failed && got > 0) {
            const int dropped =
                drop_image_point(fl, kept, got, pieces, &n_pieces);
            if (dropped < 0) {
                ex_flight_fail(fl);
            } else if (dropped) {
                got--;
                budget++;
                if (got == 0 && ex_feed_image_row(fl, NULL) < 0)
                    ex_flight_fail(fl); /* its other points were all summed */
            }
        }
        if (fl->failed || got == 0) { /* its points go nowhere */
            while (n_pieces > first_piece)
                rsi_tensor_free(pieces[--n_pieces]);
            budget += got;
        } else {
            fl->image.kept_here = kept;
            parts[n_parts] = (rsi_run_part){.rows = got + kept};
            ex_full_precision_rows(&parts[n_parts], fl, starts);
            owners[n_parts++] = fl;
        }
    }
    if (rc == 0 && n_parts > 0) {
        /* the pieces, into one input */
        rsi_tensor *x = n_pieces > 1
                            ? rsi_tensor_cat((const rsi_tensor *const *)pieces,
                                             (int)n_pieces, 0)
                            : NULL;
        if (n_pieces > 1 && !x) {
            for (int64_t i = 0; i < n_parts; i++)
                ex_flight_fail(owners[i]);
        } else {
            ex_run_and_feed(e, x ? x : pieces[0], parts, owners, (int)n_parts,
                            NULL, 0);
        }
        rsi_tensor_free(x);
    }
    for (int64_t i = 0; i < n_pieces; i++)
        rsi_tensor_free(pieces[i]);
    for (int i = 0; i < e->n_flights; i++)
        if (e->flights[i]->exhausted)
            ex_flight_walked(e, e->flights[i]);
    free(pieces);
    free(parts);
    free(owners);
    return rc;
}
