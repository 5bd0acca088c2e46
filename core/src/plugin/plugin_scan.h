/* rsicam — trying plugin files out of process (internal to the plugin
 * room).
 *
 * Loading a file runs its code: constructors, and a plugin's init. A file
 * that crashes there, or calls exit(), or is some system library that
 * aborts when loaded twice, must cost a warning, not the run; and trying
 * thousands of files must not leave thousands mapped. So the files are
 * tried in a child process, which sends back what each plugin declares;
 * this process loads a plugin only when it is looked up (plugin_load.h).
 */
#ifndef RSICAM_PLUGIN_SCAN_H
#define RSICAM_PLUGIN_SCAN_H

#include <stdio.h>

#include "plugin_registry.h"

/* Tries files[0..n) in order, adding each usable plugin to r (unloaded)
 * and writing one warning line to w (may be NULL) per file skipped.
 * Returns the number added, or -1 with an error (out of memory, no
 * process could be started). */
int rsi_scan_files(rsi_registry *r, char *const *files, int n, FILE *w);

#endif
