/* rsicam — experiment files: images.
 *
 *   images:
 *     - cat.jpg                 a file
 *     - shots/img*.png          a glob (sorted)
 *     - shots/                  a folder: its image files, sorted by name
 *     - samples.csv             a list file with labels and boxes
 *                               (samples.h: image,label,x0,y0,x1,y1)
 *
 * Relative paths start at the experiment file's directory. An image named
 * twice is used once (the first time, with its label and box).
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "experiment_internal.h"

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int is_image_name(const char *name)
{
    static const char *const exts[] = {".png", ".jpg",  ".jpeg", ".bmp",
                                       ".tif", ".tiff", ".webp", ".gif",
                                       ".ppm", ".pgm",  ".pnm",  ".jp2"};
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
        if (has_suffix(name, exts[i]))
            return 1;
    return 0;
}

typedef struct image_list {
    rsi_xp_image *items;
    int n, cap;
} image_list;

/* Adds an image (path taken over) unless it is already there. */
static int add_image(image_list *l, char *path, int64_t label, int has_box,
                     const rsi_box *box)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->items[i].path, path) == 0) {
            free(path);
            return 0;
        }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        rsi_xp_image *items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) {
            free(path);
            return -1;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = (rsi_xp_image){.path = path,
                                      .label = label,
                                      .has_box = has_box,
                                      .box = has_box ? *box : (rsi_box){0}};
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_folder(xp_loader *ld, const rsi_cfg *at, const char *dir,
                       const char *as_written, image_list *l)
{
    DIR *d = opendir(dir);
    if (!d) {
        rsi_diag_add(ld->d, at, "images: '%s': %s", as_written,
                     strerror(errno));
        return;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *grown);
            if (!grown)
                break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > 1) /* names may be NULL when empty: UB for qsort */
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    if (!n)
        rsi_diag_add(ld->d, at, "images: folder '%s' holds no image files",
                     as_written);
    for (int i = 0; i < n; i++) {
        char *p = names[i] ? xp_absolute(dir, names[i]) : NULL;
        if (p)
            add_image(l, p, -1, 0, NULL);
        free(names[i]);
    }
    free(names);
}

static void add_list(xp_loader *ld, const rsi_cfg *at, const char *file,
                     image_list *l)
{
    rsi_sample_list list;
    if (rsi_samples_read(file, &list) < 0) {
        rsi_diag_add(ld->d, at, "images: %s", rsi_error_message());
        rsi_error_clear();
        return;
    }
    const rsi_experiment *xp = ld->xp;
    const rsi_model_info *info =
        xp->model ? rsi_model_get_info(xp->model) : NULL;
    int have_names = 0;
    for (int i = 0; i < list.n; i++)
        have_names |= list.items[i].label_name != NULL;
    if (have_names && info &&
        rsi_samples_resolve_labels(&list, (const char *const *)info->labels,
                                   (int)info->num_labels) < 0) {
        rsi_diag_add(ld->d, at, "images: %s", rsi_error_message());
        rsi_error_clear();
    }
    for (int i = 0; i < list.n; i++) {
        const rsi_sample *s = &list.items[i];
        struct stat st;
        if (stat(s->image, &st) != 0) {
            rsi_diag_add(ld->d, at, "images: %s:%d: '%s': %s", file, s->line,
                         s->image, strerror(errno));
            continue;
        }
        if (s->label >= 0 && xp->num_classes && s->label >= xp->num_classes)
            rsi_diag_add(ld->d, at,
                         "images: %s:%d: label %lld out of range: "
                         "the model has %lld classes",
                         file, s->line, (long long)s->label,
                         (long long)xp->num_classes);
        char *p = xp_absolute(ld->cwd, s->image);
        if (p)
            add_image(l, p, s->label, s->has_box, &s->box);
    }
    rsi_samples_free(&list);
}

static void add_source(xp_loader *ld, const rsi_cfg *it, image_list *l)
{
    const char *t = xp_text(ld, it, "images", "a file, folder, glob or list");
    char *path = t ? xp_path(ld, it, t) : NULL;
    if (!path)
        return;
    json_array_append_new(ld->images_json, json_string(path));
    struct stat st;
    if (strpbrk(t, "*?[")) {
        glob_t g;
        int rc = glob(path, 0, NULL, &g);
        int added = 0;
        for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
            if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) {
                char *p = strdup(g.gl_pathv[i]);
                if (p)
                    add_image(l, p, -1, 0, NULL);
                added++;
            }
        if (rc == 0)
            globfree(&g);
        if (!added)
            rsi_diag_add(ld->d, it, "images: no file matches '%s'", t);
    } else if (stat(path, &st) != 0) {
        rsi_diag_add(ld->d, it, "images: '%s': %s", t, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        add_folder(ld, it, path, t, l);
    } else if (has_suffix(path, ".csv")) {
        add_list(ld, it, path, l);
    } else {
        char *p = strdup(path);
        if (p)
            add_image(l, p, -1, 0, NULL);
    }
    free(path);
}

int rsi_image_stems(const char *const *paths, int n, char **stems)
{
    for (int i = 0; i < n; i++) {
        const char *slash = strrchr(paths[i], '/');
        char stem[256];
        snprintf(stem, sizeof stem, "%s", slash ? slash + 1 : paths[i]);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
        stems[i] = strdup(stem);
    }
    char *clash = calloc((size_t)n + 1, 1);
    for (int i = 0; clash && i < n; i++)
        for (int j = 0; j < n && !clash[i]; j++)
            clash[i] = j != i && stems[i] && stems[j] &&
                       strcasecmp(stems[i], stems[j]) == 0;
    for (int i = 0; clash && i < n; i++) {
        if (!clash[i])
            continue;
        char hash[17], stem[300];
        json_t *p = json_string(paths[i]);
        xp_hash_json(p, hash);
        json_decref(p);
        snprintf(stem, sizeof stem, "%s-%.8s", stems[i], hash);
        free(stems[i]);
        stems[i] = strdup(stem);
    }
    int ok = clash != NULL;
    for (int i = 0; i < n; i++)
        ok = ok && stems[i];
    free(clash);
    if (!ok) {
        for (int i = 0; i < n; i++) {
            free(stems[i]);
            stems[i] = NULL;
        }
        rsi_error("out of memory");
        return -1;
    }
    return 0;
}

static void make_stems(rsi_experiment *xp)
{
    const char **paths = malloc((size_t)(xp->n_images + 1) * sizeof *paths);
    char **stems = calloc((size_t)xp->n_images + 1, sizeof *stems);
    for (int i = 0; paths && i < xp->n_images; i++)
        paths[i] = xp->images[i].path;
    if (paths && stems && rsi_image_stems(paths, xp->n_images, stems) == 0)
        for (int i = 0; i < xp->n_images; i++)
            xp->images[i].stem = stems[i];
    free(paths);
    free(stems);
}

/* What targets and metrics need of the images. */
static void check_needs(xp_loader *ld)
{
    const rsi_experiment *xp = ld->xp;
    int unlabelled = 0, boxed = 0;
    const char *first = NULL;
    for (int i = 0; i < xp->n_images; i++) {
        if (xp->images[i].label < 0 && !unlabelled++)
            first = xp->images[i].path;
        boxed += xp->images[i].has_box;
    }
    for (int r = 0; r < xp->n_rules && unlabelled; r++)
        if (xp->rules[r].kind == RSI_TARGET_LABEL) {
            rsi_diag_add(ld->d, rsi_cfg_get(ld->doc, "targets"),
                         "targets: 'label' needs every image's label (from a "
                         "list file); %d image%s ha%s none (first: %s)",
                         unlabelled, unlabelled == 1 ? "" : "s",
                         unlabelled == 1 ? "s" : "ve", first);
            break;
        }
    if ((xp->metrics & (RSI_XP_POINTING | RSI_XP_ENERGY)) && !boxed &&
        xp->n_images)
        rsi_diag_add(ld->d, rsi_cfg_get(ld->doc, "metrics"),
                     "metrics: pointing and energy need boxes (x0,y0,x1,y1 "
                     "in a list file); no image has one");
}

void xp_read_images(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *node = rsi_cfg_get(ld->doc, "images");
    ld->images_json = json_array();
    json_object_set_new(xp->resolved, "images", ld->images_json);
    if (!node) {
        rsi_diag_add_at(ld->d, xp->config_path, 1,
                        "images: missing (files, folders, globs or a list "
                        "file)");
        return;
    }
    image_list l = {0};
    for (int i = 0; i < xp_count(node); i++)
        add_source(ld, xp_item(node, i), &l);
    xp->images = l.items;
    xp->n_images = l.n;
    if (!l.n && !ld->d->n)
        rsi_diag_add(ld->d, node, "images: no image given");
    make_stems(xp);
    check_needs(ld);
}
