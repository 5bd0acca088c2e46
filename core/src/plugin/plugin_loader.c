/* Plugin discovery and lookup (see plugin_registry.h): where to search,
 * which files to try (tried out of process: plugin_scan.c), and finding
 * a plugin by kind and name, loading it then (plugin_load.c).
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nearest.h"
#include "params.h"
#include "plugin_home.h"
#include "plugin_load.h"
#include "plugin_registry.h"
#include "plugin_scan.h"
#include "strvec.h"

#ifndef RSICAM_BUILD_PLUGIN_DIR
#define RSICAM_BUILD_PLUGIN_DIR ""
#endif

/* Deeper than any KIND/NAME layout needs; stops runaway recursion. */
#define SCAN_DEPTH_MAX 8

static int out_of_memory(void)
{
    rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory loading plugins");
    return -1;
}

int rsi_registry_add_file(rsi_registry *r, const char *path, FILE *w)
{
    int seen = rsi_registry_mark_visited(r, path);
    if (seen != 0)
        return seen > 0 ? 0 : out_of_memory();
    char *files[] = {(char *)path};
    return rsi_scan_files(r, files, 1, w);
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

/* Appends the plugin files under dir to files, in search order: sorted,
 * so that the order, and with it which duplicate wins, does not depend on
 * the file system's. Only names are read here; files are tried later, all
 * by one scanner process. 0, or -1 out of memory. */
static int collect(rsi_registry *r, const char *dir, int depth,
                   rsi_strvec *files)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    rsi_strvec names = {0};
    struct dirent *e;
    int failed = 0;
    while ((e = readdir(dh)) != NULL)
        if (e->d_name[0] != '.' && rsi_strvec_push(&names, e->d_name) != 0)
            failed = 1;
    closedir(dh);
    if (names.n > 1)
        qsort(names.items, (size_t)names.n, sizeof *names.items, by_name);

    size_t dlen = strlen(dir);
    for (int i = 0; i < names.n && !failed; i++) {
        char *full = malloc(dlen + strlen(names.items[i]) + 2);
        if (!full) {
            failed = 1;
            break;
        }
        sprintf(full, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/",
                names.items[i]);
        struct stat st;
        if (stat(full, &st) == 0) {
            int isdir = S_ISDIR(st.st_mode) && depth < SCAN_DEPTH_MAX;
            int isso = S_ISREG(st.st_mode) && ends_with_so(names.items[i]);
            int seen = isdir || isso ? rsi_registry_mark_visited(r, full) : 1;
            if (seen < 0)
                failed = 1;
            else if (seen == 0 && isdir)
                failed = collect(r, full, depth + 1, files) != 0;
            else if (seen == 0)
                failed = rsi_strvec_push(files, full) != 0;
        }
        free(full);
    }
    rsi_strvec_free(&names);
    return failed ? -1 : 0;
}

int rsi_registry_add_dir(rsi_registry *r, const char *dir, const char *origin,
                         FILE *w)
{
    if (rsi_registry_record_dir(r, dir, origin) != 0)
        return out_of_memory();
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (!exists || !S_ISDIR(st.st_mode)) {
        if (w)
            fprintf(w, "rsicam: warning: plugin directory '%s' (%s): %s\n", dir,
                    origin ? origin : "given",
                    exists ? "not a directory" : strerror(errno));
        return 0;
    }
    int seen = rsi_registry_mark_visited(r, dir);
    if (seen != 0)
        return seen > 0 ? 0 : out_of_memory();
    rsi_strvec files = {0};
    int n = collect(r, dir, 0, &files) != 0
                ? out_of_memory()
                : rsi_scan_files(r, files.items, files.n, w);
    rsi_strvec_free(&files);
    return n;
}

/* Adds a default directory: silently nothing when it does not exist. */
static int add_default_dir(rsi_registry *r, const char *dir, const char *origin,
                           FILE *w)
{
    struct stat st;
    if (!*dir)
        return 0;
    if (stat(dir, &st) != 0) {
        return rsi_registry_record_dir(r, dir, origin) != 0 ? out_of_memory()
                                                            : 0;
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

/* The folder of the file this code runs in (new string), or NULL:
 * librsicam, or the program or extension that carries a static copy of the
 * core. */
static char *own_dir(void)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (!dladdr1((void *)own_dir, &info, (void **)&map, RTLD_DL_LINKMAP) ||
        !info.dli_fname)
        return NULL;
    /* dladdr names the main program by its argv[0], not always a path */
    const char *file = map && !*map->l_name ? "/proc/self/exe" : info.dli_fname;
    char *real = realpath(file, NULL);
    char *slash = real ? strrchr(real, '/') : NULL;
    if (slash)
        *slash = '\0';
    return real;
}

/* The installed librsicam's folder for a file installed in own (new
 * string), or NULL out of memory: rsi_home_to_libdir from there. Installed,
 * plugins live beside librsicam in rsicam/plugins, so they are found under
 * the file's own prefix, wherever the prefix was moved after configuring. */
static char *installed_lib_dir(const char *own)
{
    if (strcmp(rsi_home_to_libdir, ".") == 0)
        return strdup(own);
    char *joined = NULL;
    if (asprintf(&joined, "%s/%s", own, rsi_home_to_libdir) < 0)
        return NULL;
    char *real = realpath(joined, NULL);
    if (!real)
        return joined;
    free(joined);
    return real;
}

/* The plugins that belong with this copy of the core: the build tree's
 * when the file carrying it is the one built there, else the ones
 * installed beside librsicam; an installed rsicam never searches the build
 * tree. */
static int add_own_plugins(rsi_registry *r, FILE *w)
{
    char *own = own_dir();
    if (!own)
        return 0;
    char *build =
        *rsi_home_build_dir ? realpath(rsi_home_build_dir, NULL) : NULL;
    int n = 0;
    if (build && strcmp(build, own) == 0) {
        n = add_default_dir(r, RSICAM_BUILD_PLUGIN_DIR, "build tree", w);
    } else {
        char *lib = installed_lib_dir(own);
        char *dir = NULL;
        if (!lib || asprintf(&dir, "%s/rsicam/plugins", lib) < 0)
            n = out_of_memory();
        else
            n = add_default_dir(r, dir, "installed beside librsicam", w);
        free(dir);
        free(lib);
    }
    free(build);
    free(own);
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

/* "a, b, c": the names of r's plugins of one kind, for messages. */
static void kind_names(const rsi_registry *r, rsi_plugin_kind kind, char *buf,
                       size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < rsi_registry_count(r) && used < size; i++) {
        const rsi_plugin_descriptor *d = rsi_registry_at(r, i)->desc;
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
    for (int i = 0; i < rsi_registry_num_dirs(r) && used < size; i++) {
        const char *origin;
        const char *dir = rsi_registry_dir(r, i, &origin);
        int n = snprintf(buf + used, size - used, "%s%s (%s)", i ? ", " : "",
                         dir, origin);
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
    for (int i = 0; i < rsi_registry_count(r); i++) {
        const rsi_plugin_descriptor *d = rsi_registry_at(r, i)->desc;
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
    for (int i = 0; names && i < rsi_registry_count(r); i++)
        if (rsi_registry_at(r, i)->desc->kind == kind)
            names[n++] = rsi_registry_at(r, i)->desc->name;
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
    rsi_plugin *p = name ? rsi_registry_lookup(r, kind, name) : NULL;
    if (!p) {
        error_not_found(r, kind, name ? name : "");
        return NULL;
    }
    return rsi_plugin_load(p) == 0 ? p : NULL;
}

int rsi_plugin_parse_params(const rsi_plugin *p, const char *text,
                            rsi_param_value **out)
{
    char owner[256];
    snprintf(owner, sizeof owner, "%s '%s'",
             rsi_plugin_kind_name(p->desc->kind), p->desc->name);
    return rsi_params_parse(p->desc->params, text, owner, out);
}
