/* rsicam — checking and loading one plugin (plugin_load.h).
 *
 * Everything a plugin declares is checked before it is trusted: a plugin
 * is foreign code built at another time against another header, and a
 * mistake in one must cost a warning, never the run.
 */
#include "plugin_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "plugin_signal.h"

void rsi_plugin_warn(FILE *w, const char *name, const char *path,
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

/* Plugin problems are reported as warnings, not errors, so plugin code
 * runs with the caller's pending error set aside, put back afterwards. */
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

/* The ABI numbers are checked first: under another major version nothing
 * after them (the name included) is known to be where this header says. */
int rsi_plugin_check(const rsi_plugin_descriptor *d, const char *path, FILE *w)
{
    if (d->abi_major != RSI_ABI_MAJOR) {
        /* the first four members keep their place in every major */
        const char *name = d->name && good_name(d->name) ? d->name : NULL;
        rsi_plugin_warn(w, name, path,
                        "built for plugin ABI %u.%u, but this rsicam has ABI "
                        "%d.%d (the major version must match): rebuild it "
                        "against rsicam %d.%d headers (pkg-config --cflags "
                        "rsicam)",
                        (unsigned)d->abi_major, (unsigned)d->abi_minor,
                        RSI_ABI_MAJOR, RSI_ABI_MINOR, RSI_ABI_MAJOR,
                        RSI_ABI_MINOR);
        return -1;
    }
    const char *name = d->name;
    if (d->abi_minor > RSI_ABI_MINOR) {
        rsi_plugin_warn(w, name, path,
                        "built for plugin ABI %u.%u, newer than this rsicam's "
                        "%d.%d (update rsicam or rebuild the plugin)",
                        (unsigned)d->abi_major, (unsigned)d->abi_minor,
                        RSI_ABI_MAJOR, RSI_ABI_MINOR);
        return -1;
    }
    if (!name) {
        rsi_plugin_warn(w, NULL, path, "the descriptor has no name (NULL)");
        return -1;
    }
    if (!good_name(name)) {
        /* Names go into "NAME:k=v" specs: ':', ',', '=' would break them. */
        rsi_plugin_warn(w, NULL, path,
                        "plugin name '%s' is not made of letters, digits, "
                        "'_', '-' and '.'",
                        name);
        return -1;
    }
    if (!rsi_plugin_kind_name(d->kind)) {
        rsi_plugin_warn(w, name, path, "unknown plugin kind %d", (int)d->kind);
        return -1;
    }
    if (!d->entry) {
        rsi_plugin_warn(w, name, path, "no entry points (entry is NULL)");
        return -1;
    }
    if (!entry_complete(d)) {
        rsi_plugin_warn(w, name, path, "a required %s entry point is NULL",
                        rsi_plugin_kind_name(d->kind));
        return -1;
    }
    error_stash s;
    stash_save(&s);
    int rc = rsi_params_check_specs(d->params);
    if (rc != 0)
        rsi_plugin_warn(w, name, path, "bad parameter declaration: %s",
                        rsi_error_message());
    stash_restore(&s);
    return rc;
}

int rsi_plugin_init(const rsi_host_api *host, const rsi_plugin_descriptor *d)
{
    if (!d->init)
        return 0;
    const rsi_context ctx = {.host = host, .plugin = d};
    int rc = d->init(&ctx);
    if (rc == 0)
        return 0;
    if (rsi_error_pending())
        rsi_error_prefix("init failed");
    else
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "init failed (returned %d, no message)", rc);
    return -1;
}

/* Whether d, just loaded, is what the scan recorded as s. */
static int as_scanned(const rsi_plugin_descriptor *d,
                      const rsi_plugin_descriptor *s, const char *path)
{
    return rsi_plugin_check(d, path, NULL) == 0 && d->kind == s->kind &&
           strcmp(d->name, s->name) == 0 &&
           rsi_params_count(d->params) == rsi_params_count(s->params);
}

/* Opens and initialises p; -1 with the error (not yet named). */
static int load(rsi_plugin *p)
{
    dlerror();
    void *handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        rsi_error_class_set(RSI_ERR_PLUGIN, "cannot load: %s",
                            why ? why : "unknown");
        return -1;
    }
    const rsi_plugin_descriptor *d = dlsym(handle, RSI_PLUGIN_SYMBOL);
    if (!d || !as_scanned(d, &p->scanned, p->path)) {
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "the file no longer declares what it did when "
                            "it was scanned (replaced meanwhile?)");
        dlclose(handle);
        return -1;
    }
    if (rsi_plugin_init(p->host, d) != 0) {
        rsi_error_reclass(RSI_ERR_PLUGIN);
        dlclose(handle);
        return -1;
    }
    p->desc = d;
    p->handle = handle;
    return 0;
}

/* Recursive: an init may look up another plugin through the host. */
static pthread_mutex_t load_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

int rsi_plugin_load(rsi_plugin *p)
{
    pthread_mutex_lock(&load_lock);
    int rc = 0;
    if (!p->handle) {
        const rsi_plugin *outer = rsi_plugin_enter(p);
        rc = load(p);
        rsi_plugin_leave(outer);
        if (rc != 0)
            rsi_error_prefix("%s '%s' (%s)",
                             rsi_plugin_kind_name(p->scanned.kind),
                             p->scanned.name, p->path);
    }
    pthread_mutex_unlock(&load_lock);
    return rc;
}
