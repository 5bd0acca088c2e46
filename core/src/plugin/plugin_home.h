/* Where the plugins that belong with this copy of the core live.
 *
 * The core is linked into librsicam and, as a static copy, into the
 * rsicam command, the Python extension and the tests. Each of them
 * compiles home/plugin_home.c with its own two strings
 * (rsicam_plugin_home() in core/CMakeLists.txt), read by
 * plugin_loader.c's add_own_plugins():
 */
#ifndef RSICAM_PLUGIN_HOME_H
#define RSICAM_PLUGIN_HOME_H

/* The folder the program or library carrying this copy is built into. */
extern const char rsi_home_build_dir[];
/* From the folder it is installed in to the installed librsicam's, beside
 * which the installed plugins are (rsicam/plugins): "." for librsicam. */
extern const char rsi_home_to_libdir[];

#endif
