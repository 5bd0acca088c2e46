/* Where the plugins of this program or library are (plugin_home.h):
 * compiled into each one that carries the core, with its own
 * RSICAM_HOME_BUILD_DIR and RSICAM_HOME_TO_LIBDIR. */

#include "plugin_home.h"

const char rsi_home_build_dir[] = RSICAM_HOME_BUILD_DIR;
const char rsi_home_to_libdir[] = RSICAM_HOME_TO_LIBDIR;
