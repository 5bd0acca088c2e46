/* rsicam — error reporting.
 *
 * Functions that fail return -1 or NULL and leave one message in a
 * thread-local buffer. The first message wins: a later rsi_error() while a
 * message is pending is ignored, so the root cause is never overwritten.
 * Callers that add context use rsi_error_prefix() ("image 'a.png': ...").
 * Whoever handles the failure reads rsi_error_message() and calls
 * rsi_error_clear().
 */
#ifndef RSICAM_ERROR_H
#define RSICAM_ERROR_H

#include "rsicam/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RSI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RSI_PRINTF(fmt, args)
#endif

/* Error classes; the command line turns them into documented exit codes. */
typedef enum rsi_error_class {
    RSI_ERR_NONE = 0,
    RSI_ERR_USAGE = 2,  /* bad command line or parameter value */
    RSI_ERR_INPUT = 3,  /* an image or other input file is unusable */
    RSI_ERR_MODEL = 4,  /* model file, layer, class or numerics */
    RSI_ERR_PLUGIN = 5, /* plugin missing, broken or failing */
    RSI_ERR_OUTPUT = 6, /* writing results failed */
    RSI_ERR_INTERNAL = 70
} rsi_error_class;

/* Records a message (printf-style) unless one is already pending. */
RSI_API void rsi_error(const char *fmt, ...) RSI_PRINTF(1, 2);
/* Same, with an error class (default class: RSI_ERR_INTERNAL). */
RSI_API void rsi_error_class_set(rsi_error_class cls, const char *fmt, ...)
    RSI_PRINTF(2, 3);
/* Sets the class of the pending message (callers know better than the
 * layer that failed: a libtorch exception while loading a model file is a
 * model error). No-op when none is pending. */
RSI_API void rsi_error_reclass(rsi_error_class cls);
/* Prepends context to the pending message; no-op when none is pending. */
RSI_API void rsi_error_prefix(const char *fmt, ...) RSI_PRINTF(1, 2);
/* The pending message, or "" when none. Valid until the next call here. */
RSI_API const char *rsi_error_message(void);
RSI_API rsi_error_class rsi_error_get_class(void);
RSI_API int rsi_error_pending(void);
RSI_API void rsi_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
