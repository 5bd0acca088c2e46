/* rsicam — checking one plugin file and loading it (internal to the
 * plugin room: plugin_loader.c, plugin_scan.c).
 *
 * The same checks run twice: in the scanner process, where a failure is a
 * warning and the file is skipped, and in this process when the plugin is
 * first looked up, where the file must still be what the scan saw.
 */
#ifndef RSICAM_PLUGIN_LOAD_H
#define RSICAM_PLUGIN_LOAD_H

#include <stdio.h>

#include "plugin_registry.h"

/* One warning line to w (nothing when w is NULL):
 * "rsicam: warning: skipping plugin 'NAME' (PATH): ..." (the name only
 * when the descriptor can be trusted to have one), else
 * "rsicam: warning: skipping plugin PATH: ...". */
void rsi_plugin_warn(FILE *w, const char *name, const char *path,
                     const char *fmt, ...) RSI_PRINTF(4, 5);

/* Checks d (ABI first, then name, kind, entry points, parameters); on a
 * problem writes the warning to w and returns -1. The caller's pending
 * error is kept. */
int rsi_plugin_check(const rsi_plugin_descriptor *d, const char *path, FILE *w);

/* Runs d's init, if any, with host: 0, or -1 with the error "init
 * failed: ...". */
int rsi_plugin_init(const rsi_host_api *host, const rsi_plugin_descriptor *d);

/* Loads p if it is not yet: opens its file, checks that it still declares
 * what the scan recorded, runs init. Returns 0, or -1 with an
 * RSI_ERR_PLUGIN error naming p and its file. Thread-safe. */
int rsi_plugin_load(rsi_plugin *p);

#endif
