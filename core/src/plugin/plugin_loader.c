/* Plugin discovery and loading (see plugin_registry.h).
 *
 * Everything a plugin declares is checked before it is trusted: a plugin
 * is foreign code built at another time against another header, and a
 * mistake in one must cost a warning, never the run.
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nearest.h"
#include "params.h"
#include "plugin_registry.h"

#ifndef RSICAM_BUILD_PLUGIN_DIR
#define RSICAM_BUILD_PLUGIN_DIR ""
#endif
#ifndef RSICAM_BUILD_LIB_DIR
#define RSICAM_BUILD_LIB_DIR ""
#endif

/* Deeper than any KIND/NAME layout needs; stops runaway recursion. */
#define SCAN_DEPTH_MAX 8

typedef struct strvec {
    char **v;
    int n, cap;
} strvec;

struct rsi_registry {
    rsi_plugin **plugins;
    int n, cap;
    strvec dirs;    /* top-level directories searched, as given */
    strvec origins; /* where each came from */
    strvec visited; /* real paths of directories and files already seen */
};

static rsi_registry *current_registry;

static int strvec_push(strvec *s, const char *str)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(str);
    if (!copy)
        return -1;
    s->v[s->n++] = copy;
    return 0;
}

static int strvec_has(const strvec *s, const char *str)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return 1;
    return 0;
}

static void strvec_free(strvec *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* Marks path (by its real path) as seen. Returns 1 when it was already,
 * 0 when newly marked, -1 out of memory. */
static int mark_visited(rsi_registry *r, const char *path)
{
    char *real = realpath(path, NULL);
    const char *key = real ? real : path;
    int rc = strvec_has(&r->visited, key) ? 1 : 0;
    if (rc == 0 && strvec_push(&r->visited, key) != 0)
        rc = -1;
    free(real);
    return rc;
}

rsi_registry *rsi_registry_new(void)
{
    rsi_registry *r = calloc(1, sizeof *r);
    if (!r)
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
    return r;
}

void rsi_registry_free(rsi_registry *r)
{
    if (!r)
        return;
    if (current_registry == r)
        current_registry = NULL;
    for (int i = r->n - 1; i >= 0; i--) {
        dlclose(r->plugins[i]->handle);
        free(r->plugins[i]->path);
        free(r->plugins[i]);
    }
    free(r->plugins);
    strvec_free(&r->dirs);
    strvec_free(&r->origins);
    strvec_free(&r->visited);
    free(r);
}

void rsi_registry_set_current(rsi_registry *r)
{
    current_registry = r;
}

rsi_registry *rsi_registry_current(void)
{
    return current_registry;
}

const char *rsi_plugin_kind_name(rsi_plugin_kind kind)
{
    switch (kind) {
    case RSI_PLUGIN_MODEL:
        return "model";
    case RSI_PLUGIN_BASELINE:
        return "baseline";
    case RSI_PLUGIN_PATH:
        return "path";
    }
    return NULL;
}

void rsi_plugin_failed(const rsi_plugin *p)
{
    if (!rsi_error_pending())
        rsi_error_class_set(RSI_ERR_PLUGIN, "failed without saying why");
    rsi_error_prefix("%s '%s'", rsi_plugin_kind_name(p->desc->kind),
                     p->desc->name);
}

/* One warning line: "rsicam: warning: skipping plugin 'NAME' (PATH): ..."
 * (the name only when the descriptor can be trusted to have one). */
static void warn_skip(FILE *w, const char *name, const char *path,
                      const char *fmt, ...) RSI_PRINTF(4, 5);
static void warn_skip(FILE *w, const char *name, const char *path,
                      const char *fmt, ...)
{
    if (!w)
        return;
    if (name)
        fprintf(w, "rsicam: warning: skipping plugin '%s' (%s): ", name, path);
    else
        fprintf(w, "rsicam: warning: skipping plugin %s: ", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w, fmt, ap);
    va_end(ap);
    fputc('\n', w);
    fflush(w);
}

/* The loader reports plugin problems as warnings, not errors, so it runs
 * plugin code with the caller's pending error set aside and puts it back
 * afterwards. */
typedef struct error_stash {
    int pending;
    rsi_error_class cls;
    char *msg;
} error_stash;

static void stash_save(error_stash *s)
{
    s->pending = rsi_error_pending();
    s->cls = rsi_error_get_class();
    s->msg = s->pending ? strdup(rsi_error_message()) : NULL;
    rsi_error_clear();
}

static void stash_restore(error_stash *s)
{
    rsi_error_clear();
    if (s->pending)
        rsi_error_class_set(s->cls, "%s", s->msg ? s->msg : "(lost)");
    free(s->msg);
    s->msg = NULL;
}

static int good_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Whether the entry table has every function its kind requires. */
static int entry_complete(const rsi_plugin_descriptor *d)
{
    switch (d->kind) {
    case RSI_PLUGIN_MODEL: {
        const rsi_model_entry *e = d->entry;
        return e->open != NULL;
    }
    case RSI_PLUGIN_BASELINE: {
        const rsi_baseline_entry *e = d->entry;
        return e->make != NULL;
    }
    case RSI_PLUGIN_PATH: {
        /* a function of the position, or a fixed list */
        const rsi_path_entry *e = d->entry;
        return e->points ? 1 : e->num_points && e->next;
    }
    }
    return 0;
}

/* Checks the descriptor; on a problem writes the warning and returns -1.
 * The ABI numbers are checked first: under another major version nothing
 * after them (the name included) is known to be where this header says. */
static int check_descriptor(const rsi_plugin_descriptor *d, const char *path,
                            FILE *w)
{
    if (d->abi_major != RSI_ABI_MAJOR) {
        /* the first four members keep their place in every major */
        const char *name = d->name && good_name(d->name) ? d->name : NULL;
        warn_skip(w, name, path,
                  "built for plugin ABI %u.%u, but this rsicam has ABI "
                  "%d.%d (the major version must match): rebuild it "
                  "against rsicam %d.%d headers (pkg-config --cflags "
                  "rsicam)",
                  (unsigned)d->abi_major, (unsigned)d->abi_minor, RSI_ABI_MAJOR,
                  RSI_ABI_MINOR, RSI_ABI_MAJOR, RSI_ABI_MINOR);
        return -1;
    }
    const char *name = d->name;
    if (d->abi_minor > RSI_ABI_MINOR) {
        warn_skip(w, name, path,
                  "built for plugin ABI %u.%u, newer than this rsicam's "
                  "%d.%d (update rsicam or rebuild the plugin)",
                  (unsigned)d->abi_major, (unsigned)d->abi_minor, RSI_ABI_MAJOR,
                  RSI_ABI_MINOR);
        return -1;
    }
    if (!name) {
        warn_skip(w, NULL, path, "the descriptor has no name (NULL)");
        return -1;
    }
    if (!good_name(name)) {
        /* Names go into "NAME:k=v" specs: ':', ',', '=' would break them. */
        warn_skip(w, NULL, path,
                  "plugin name '%s' is not made of letters, digits, '_', "
                  "'-' and '.'",
                  name);
        return -1;
    }
    if (!rsi_plugin_kind_name(d->kind)) {
        warn_skip(w, name, path, "unknown plugin kind %d", (int)d->kind);
        return -1;
    }
    if (!d->entry) {
        warn_skip(w, name, path, "no entry points (entry is NULL)");
        return -1;
    }
    if (!entry_complete(d)) {
        warn_skip(w, name, path, "a required %s entry point is NULL",
                  rsi_plugin_kind_name(d->kind));
        return -1;
    }
    error_stash s;
    stash_save(&s);
    int rc = rsi_params_check_specs(d->params);
    if (rc != 0)
        warn_skip(w, name, path, "bad parameter declaration: %s",
                  rsi_error_message());
    stash_restore(&s);
    return rc;
}

static const rsi_plugin *find_exact(const rsi_registry *r, rsi_plugin_kind kind,
                                    const char *name)
{
    for (int i = 0; r && i < r->n; i++) {
        const rsi_plugin_descriptor *d = r->plugins[i]->desc;
        if (d->kind == kind && strcmp(d->name, name) == 0)
            return r->plugins[i];
    }
    return NULL;
}

/* Runs the plugin's init; on failure writes the warning, returns -1. */
static int run_init(const rsi_plugin_descriptor *d, const char *path, FILE *w)
{
    if (!d->init)
        return 0;
    error_stash s;
    stash_save(&s);
    const rsi_context ctx = {.host = rsi_host(), .plugin = d};
    int rc = d->init(&ctx);
    if (rc != 0) {
        if (rsi_error_pending())
            warn_skip(w, d->name, path, "init failed: %s", rsi_error_message());
        else
            warn_skip(w, d->name, path, "init failed (returned %d, no message)",
                      rc);
    }
    stash_restore(&s);
    return rc != 0 ? -1 : 0;
}

/* Whether a loaded descriptor may join r; warns when not. */
static int usable(const rsi_registry *r, const rsi_plugin_descriptor *d,
                  const char *path, FILE *w)
{
    if (check_descriptor(d, path, w) != 0)
        return 0;
    /* Before init, so that a shadowed plugin's init never runs. */
    const rsi_plugin *first = find_exact(r, d->kind, d->name);
    if (first) {
        warn_skip(w, d->name, path,
                  "duplicate %s plugin; the one found first (%s) is used",
                  rsi_plugin_kind_name(d->kind), first->path);
        return 0;
    }
    return run_init(d, path, w) == 0;
}

static int append(rsi_registry *r, rsi_plugin *p)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        rsi_plugin **v = realloc(r->plugins, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        r->plugins = v;
        r->cap = cap;
    }
    r->plugins[r->n++] = p;
    return 0;
}

static int out_of_memory(void)
{
    rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory loading plugins");
    return -1;
}

int rsi_registry_add_file(rsi_registry *r, const char *path, FILE *w)
{
    int seen = mark_visited(r, path);
    if (seen != 0)
        return seen > 0 ? 0 : out_of_memory();

    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        warn_skip(w, NULL, path, "cannot load: %s", why ? why : "unknown");
        return 0;
    }
    const rsi_plugin_descriptor *d = dlsym(handle, RSI_PLUGIN_SYMBOL);
    if (!d) {
        warn_skip(w, NULL, path,
                  "no '%s' descriptor exported (not an rsicam plugin, or "
                  "not marked RSI_PLUGIN_EXPORT?)",
                  RSI_PLUGIN_SYMBOL);
        dlclose(handle);
        return 0;
    }
    if (!usable(r, d, path, w)) {
        dlclose(handle);
        return 0;
    }
    rsi_plugin *p = calloc(1, sizeof *p);
    char *copy = strdup(path);
    if (!p || !copy || append(r, p) != 0) {
        free(p);
        free(copy);
        dlclose(handle);
        return out_of_memory();
    }
    p->desc = d;
    p->path = copy;
    p->handle = handle;
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

/* Sorted so that the search order, and with it which duplicate wins, does
 * not depend on the file system's order. */
static int scan(rsi_registry *r, const char *dir, int depth, FILE *w)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    strvec names = {0};
    struct dirent *e;
    int loaded = 0, failed = 0;
    while ((e = readdir(dh)) != NULL)
        if (e->d_name[0] != '.' && strvec_push(&names, e->d_name) != 0)
            failed = 1;
    closedir(dh);
    if (names.n > 1)
        qsort(names.v, (size_t)names.n, sizeof *names.v, by_name);

    size_t dlen = strlen(dir);
    for (int i = 0; i < names.n && !failed; i++) {
        char *full = malloc(dlen + strlen(names.v[i]) + 2);
        if (!full) {
            failed = 1;
            break;
        }
        sprintf(full, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/",
                names.v[i]);
        struct stat st;
        int rc = 0;
        if (stat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < SCAN_DEPTH_MAX) {
                int seen = mark_visited(r, full);
                if (seen < 0)
                    rc = -1;
                else if (seen == 0)
                    rc = scan(r, full, depth + 1, w);
            } else if (S_ISREG(st.st_mode) && ends_with_so(names.v[i])) {
                rc = rsi_registry_add_file(r, full, w);
            }
        }
        free(full);
        if (rc < 0)
            failed = 1;
        else
            loaded += rc;
    }
    strvec_free(&names);
    return failed ? out_of_memory() : loaded;
}

static int record_dir(rsi_registry *r, const char *dir, const char *origin)
{
    if (strvec_push(&r->dirs, dir) != 0 ||
        strvec_push(&r->origins, origin ? origin : "") != 0)
        return out_of_memory();
    return 0;
}

int rsi_registry_add_dir(rsi_registry *r, const char *dir, const char *origin,
                         FILE *w)
{
    if (record_dir(r, dir, origin) != 0)
        return -1;
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (!exists || !S_ISDIR(st.st_mode)) {
        if (w)
            fprintf(w, "rsicam: warning: plugin directory '%s' (%s): %s\n", dir,
                    origin ? origin : "given",
                    exists ? "not a directory" : strerror(errno));
        return 0;
    }
    int seen = mark_visited(r, dir);
    if (seen != 0)
        return seen > 0 ? 0 : out_of_memory();
    return scan(r, dir, 0, w);
}

/* Adds a default directory: silently nothing when it does not exist. */
static int add_default_dir(rsi_registry *r, const char *dir, const char *origin,
                           FILE *w)
{
    struct stat st;
    if (!*dir)
        return 0;
    if (stat(dir, &st) != 0) {
        if (record_dir(r, dir, origin) != 0)
            return -1;
        return 0;
    }
    return rsi_registry_add_dir(r, dir, origin, w);
}

static int add_env_dirs(rsi_registry *r, FILE *w)
{
    const char *env = getenv("RSICAM_PLUGIN_PATH");
    if (!env || !*env)
        return 0;
    char *copy = strdup(env);
    if (!copy)
        return out_of_memory();
    int total = 0;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        int n = rsi_registry_add_dir(r, d, "RSICAM_PLUGIN_PATH", w);
        if (n < 0) {
            total = -1;
            break;
        }
        total += n;
    }
    free(copy);
    return total;
}

/* The folder of the librsicam this code runs in (new string), or NULL.
 * Installed, plugins live beside it in rsicam/plugins; the rsicam command
 * finds the library through $ORIGIN/../LIBDIR, so this is the executable's
 * own prefix, wherever the prefix was moved after configuring. */
static char *library_dir(void)
{
    Dl_info info;
    if (!dladdr((void *)library_dir, &info) || !info.dli_fname)
        return NULL;
    char *real = realpath(info.dli_fname, NULL);
    char *slash = real ? strrchr(real, '/') : NULL;
    if (slash)
        *slash = '\0';
    return real;
}

/* The plugins that belong with this librsicam: the build tree's when it
 * is the library built there, else the ones installed beside it; an
 * installed rsicam never searches the build tree. */
static int add_own_plugins(rsi_registry *r, FILE *w)
{
    char *lib = library_dir();
    if (!lib)
        return 0;
    char *build =
        *RSICAM_BUILD_LIB_DIR ? realpath(RSICAM_BUILD_LIB_DIR, NULL) : NULL;
    int n = 0;
    if (build && strcmp(build, lib) == 0) {
        n = add_default_dir(r, RSICAM_BUILD_PLUGIN_DIR, "build tree", w);
    } else {
        char *dir = NULL;
        if (asprintf(&dir, "%s/rsicam/plugins", lib) < 0)
            n = out_of_memory();
        else
            n = add_default_dir(r, dir, "installed beside librsicam", w);
        free(dir);
    }
    free(build);
    free(lib);
    return n;
}

int rsi_registry_discover(rsi_registry *r, const char *const *flag_dirs,
                          int n_flag_dirs, FILE *w)
{
    int total = 0, n;
    for (int i = 0; i < n_flag_dirs; i++) {
        if (!flag_dirs[i] || !*flag_dirs[i])
            continue;
        if ((n = rsi_registry_add_dir(r, flag_dirs[i], "--plugin-path", w)) < 0)
            return -1;
        total += n;
    }
    if ((n = add_env_dirs(r, w)) < 0)
        return -1;
    total += n;
    if ((n = add_own_plugins(r, w)) < 0)
        return -1;
    return total + n;
}

int rsi_registry_count(const rsi_registry *r)
{
    return r ? r->n : 0;
}

const rsi_plugin *rsi_registry_at(const rsi_registry *r, int i)
{
    return r && i >= 0 && i < r->n ? r->plugins[i] : NULL;
}

int rsi_registry_num_dirs(const rsi_registry *r)
{
    return r ? r->dirs.n : 0;
}

const char *rsi_registry_dir(const rsi_registry *r, int i, const char **origin)
{
    if (!r || i < 0 || i >= r->dirs.n)
        return NULL;
    if (origin)
        *origin = r->origins.v[i];
    return r->dirs.v[i];
}

/* "a, b, c": the names of r's plugins of one kind, for messages. */
static void kind_names(const rsi_registry *r, rsi_plugin_kind kind, char *buf,
                       size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; r && i < r->n && used < size; i++) {
        const rsi_plugin_descriptor *d = r->plugins[i]->desc;
        if (d->kind != kind)
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                         d->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* "a (origin), b (origin)": the directories searched, for messages. */
static void searched(const rsi_registry *r, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; r && i < r->dirs.n && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s (%s)", i ? ", " : "",
                         r->dirs.v[i], r->origins.v[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (!used)
        snprintf(buf, size, "nowhere");
}

static void error_not_found(const rsi_registry *r, rsi_plugin_kind kind,
                            const char *name)
{
    const char *kname = rsi_plugin_kind_name(kind);
    if (!kname) {
        rsi_error_class_set(RSI_ERR_PLUGIN, "unknown plugin kind %d",
                            (int)kind);
        return;
    }
    /* The name may be right and the kind wrong ("linear" as a baseline). */
    for (int i = 0; r && i < r->n; i++) {
        const rsi_plugin_descriptor *d = r->plugins[i]->desc;
        if (strcmp(d->name, name) == 0) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "'%s' is a %s plugin, not a %s plugin", name,
                                rsi_plugin_kind_name(d->kind), kname);
            return;
        }
    }
    const char **names =
        calloc((size_t)rsi_registry_count(r) + 1, sizeof *names);
    int n = 0;
    for (int i = 0; names && r && i < r->n; i++)
        if (r->plugins[i]->desc->kind == kind)
            names[n++] = r->plugins[i]->desc->name;
    const char *near = names ? rsi_nearest(name, names, n) : NULL;
    char list[1024], where[2048];
    kind_names(r, kind, list, sizeof list);
    searched(r, where, sizeof where);
    if (n == 0)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "no %s plugin '%s': no %s plugins were found "
                            "(searched: %s; add directories with "
                            "--plugin-path or RSICAM_PLUGIN_PATH)",
                            kname, name, kname, where);
    else if (near)
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "no %s plugin '%s' (did you mean '%s'?); %s "
                            "plugins: %s (searched: %s)",
                            kname, name, near, kname, list, where);
    else
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "no %s plugin '%s'; %s plugins: %s (searched: %s)",
                            kname, name, kname, list, where);
    free(names);
}

const rsi_plugin *rsi_registry_find(const rsi_registry *r, rsi_plugin_kind kind,
                                    const char *name)
{
    const rsi_plugin *p = name ? find_exact(r, kind, name) : NULL;
    if (!p)
        error_not_found(r, kind, name ? name : "");
    return p;
}

int rsi_plugin_parse_params(const rsi_plugin *p, const char *text,
                            rsi_param_value **out)
{
    char owner[256];
    snprintf(owner, sizeof owner, "%s '%s'",
             rsi_plugin_kind_name(p->desc->kind), p->desc->name);
    return rsi_params_parse(p->desc->params, text, owner, out);
}
