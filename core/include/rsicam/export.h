/* rsicam — which functions librsicam exports.
 *
 * librsicam is built with hidden visibility: only the functions declared
 * with RSI_API in these public headers are in its dynamic symbol table
 * (tools/check-exports checks it). Everything else in the library is
 * internal, reached by the rsicam command and the tests through a static
 * copy of the same objects. Plugins need none of this: they reach the host
 * through its table (rsicam/plugin.h).
 */
#ifndef RSICAM_EXPORT_H
#define RSICAM_EXPORT_H

#if defined(__GNUC__)
#define RSI_API __attribute__((visibility("default")))
#else
#define RSI_API
#endif

#endif
