/* The plugin registry: finding, loading, checking and looking up plugins.
 *
 * Discovery searches, in order: the directories given on the command line
 * (--plugin-path), then RSICAM_PLUGIN_PATH (colon-separated), then the
 * plugins that belong with the librsicam in use: the build tree's when it
 * is the library built there, else LIBDIR/rsicam/plugins beside it (the
 * installed rsicam's own prefix, wherever it was moved). Each directory is
 * scanned recursively (plugins live in KIND/NAME/ folders) for *.so files.
 * The first plugin found with a given kind and name wins; later ones are
 * reported as duplicates. A plugin that cannot be used (fails to load, no
 * descriptor, wrong ABI, bad declaration, failing init, duplicate, or a
 * crash while loading) is skipped with one warning line naming it and its
 * file.
 *
 * Files are tried out of process (plugin_scan.h): this process keeps only
 * what each descriptor says, and loads a plugin (and runs its init) the
 * first time rsi_registry_find() returns it.
 */
#ifndef RSICAM_PLUGIN_REGISTRY_H
#define RSICAM_PLUGIN_REGISTRY_H

#include <stdio.h>

#include "rsicam/plugin.h"

typedef struct rsi_plugin {
    /* What the scan read (a copy: kind, name, version, license,
     * description, params; no init, no entry) until the plugin is first
     * looked up, then the plugin's own descriptor. */
    const rsi_plugin_descriptor *desc;
    char *path;   /* the file it was loaded from */
    void *handle; /* NULL until rsi_registry_find() loads it */
    /* " in plugin 'NAME' (FILE)\n", made in advance for the fatal-signal
     * line (plugin_signal.h), which may not format anything */
    char *note;
    /* the host table of the registry it belongs to: what its calls get */
    const rsi_host_api *host;
    rsi_plugin_descriptor scanned; /* desc before loading; points into */
    char *record;                  /* this, the scan's record, and */
    rsi_param_spec *params;        /* this */
} rsi_plugin;

typedef struct rsi_registry rsi_registry;

/* A registry whose plugins are called with this process's host table
 * (rsi_host(); defined in host.c, which is the one unit that knows it). */
rsi_registry *rsi_registry_new(void);
/* A registry whose plugins get host in every context: the lower units
 * take the table from here rather than call rsi_host(), so that the
 * table, which calls into them, stays above them. */
rsi_registry *rsi_registry_with_host(const rsi_host_api *host);
const rsi_host_api *rsi_registry_host(const rsi_registry *r);
/* Unloads every plugin; nothing they handed out may be used afterwards.
 * Clears the current registry when it is r. NULL is fine. */
void rsi_registry_free(rsi_registry *r);

/* Searches flag_dirs (n of them), then RSICAM_PLUGIN_PATH, then the
 * library's own plugin directory (above); warnings (may be NULL) receives one
 * line per skipped plugin or missing --plugin-path/RSICAM_PLUGIN_PATH
 * directory. Directories and files already searched are not searched again.
 * Returns the number of plugins found, or -1 on an internal failure (out of
 * memory). */
int rsi_registry_discover(rsi_registry *r, const char *const *flag_dirs,
                          int n_flag_dirs, FILE *warnings);
/* Scans one directory recursively (the building block of discover; tests
 * use it to find a known set). origin names where dir came from in the
 * listing ("--plugin-path"). Returns plugins found or -1. */
int rsi_registry_add_dir(rsi_registry *r, const char *dir, const char *origin,
                         FILE *warnings);
/* Tries one plugin file. Returns 1 when it was added, 0 when it was
 * skipped (warned about), -1 on an internal failure. */
int rsi_registry_add_file(rsi_registry *r, const char *path, FILE *warnings);

/* The plugin of that kind and name, loaded (its init run the first time),
 * or NULL with an RSI_ERR_PLUGIN error that lists the plugins of the kind
 * and suggests the nearest, or says why it could not be loaded. Safe to
 * call from several threads. */
const rsi_plugin *rsi_registry_find(const rsi_registry *r, rsi_plugin_kind kind,
                                    const char *name);

/* Plugins found, in search order; not necessarily loaded: desc has the
 * scanned names and parameters, not the entry points. */
int rsi_registry_count(const rsi_registry *r);
const rsi_plugin *rsi_registry_at(const rsi_registry *r, int i);

/* Directories searched so far, in order, with where each came from. */
int rsi_registry_num_dirs(const rsi_registry *r);
const char *rsi_registry_dir(const rsi_registry *r, int i, const char **origin);

/* The process-wide registry that host->make_baseline looks plugins up in.
 * Not owned: set it to NULL (or free the registry) when done. */
void rsi_registry_set_current(rsi_registry *r);
rsi_registry *rsi_registry_current(void);

/* "model", "baseline", "path" (NULL for an unknown kind). */
const char *rsi_plugin_kind_name(rsi_plugin_kind kind);

/* After an entry point of p failed: its error, or when it set none
 * "failed without saying why" (a plugin error), named "path 'linear': ". */
void rsi_plugin_failed(const rsi_plugin *p);

/* Parses text ("k=v,..." or NULL) against p's parameters (params.h);
 * errors start with "baseline 'blur': ". Free *out with rsi_params_free(). */
int rsi_plugin_parse_params(const rsi_plugin *p, const char *text,
                            rsi_param_value **out);

/* Prints every plugin, grouped by kind, with its parameters, and the
 * directories searched: the `rsicam plugins` listing. Returns 0 or -1. */
int rsi_registry_print(const rsi_registry *r, FILE *out);

/* ---- inside the plugin room (plugin_registry.c) ---- */

/* Frees a plugin (loaded or not). */
void rsi_plugin_free(rsi_plugin *p);
/* The plugin of kind and name in r, or NULL; no error, nothing loaded. */
rsi_plugin *rsi_registry_lookup(const rsi_registry *r, rsi_plugin_kind kind,
                                const char *name);
/* Adds p (taken: freed on failure); 0, or -1 out of memory. */
int rsi_registry_append(rsi_registry *r, rsi_plugin *p);
/* Marks path (by its real path) as seen. Returns 1 when it was already,
 * 0 when newly marked, -1 out of memory. */
int rsi_registry_mark_visited(rsi_registry *r, const char *path);
/* Records a directory searched and where it came from; -1 out of
 * memory. */
int rsi_registry_record_dir(rsi_registry *r, const char *dir,
                            const char *origin);

#endif
