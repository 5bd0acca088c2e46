/* rsicam — naming the plugin a fatal signal came from.
 *
 * While a thread runs plugin code (loading it, its init, an entry point)
 * it marks the plugin with rsi_plugin_enter(); a SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL or SIGABRT then writes one line before the process dies:
 *
 *   rsicam: fatal signal 11 (SIGSEGV) in plugin 'NAME' (FILE)
 *
 * and the signal goes on to whatever handled it before (the default:
 * death by that signal), so the exit status stays the signal's.
 */
#ifndef RSICAM_PLUGIN_SIGNAL_H
#define RSICAM_PLUGIN_SIGNAL_H

#include "plugin_registry.h"

/* Marks the calling thread as inside p (installing the handler the first
 * time); returns the plugin it was inside before (NULL: none), for
 * rsi_plugin_leave(). Plugins call plugins (a composite baseline), so
 * marks nest. */
const rsi_plugin *rsi_plugin_enter(const rsi_plugin *p);
void rsi_plugin_leave(const rsi_plugin *previous);

/* "SIGSEGV" for the fatal signals above, else NULL. Async-signal-safe. */
const char *rsi_signal_name(int sig);

#endif
