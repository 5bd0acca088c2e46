/* The thread-local error buffer behind error.h.
 *
 * Each thread has its own pending message, so a failure on one thread
 * never shows up as another thread's error. Messages are kept to one line
 * (they end up in log lines and reports) and to a bounded length: a
 * runaway message (a whole TorchScript graph in an exception, say) is cut
 * with a visible marker rather than silently.
 */
#include "rsicam/error.h"
#include "kept_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RSI_ERROR_MAX 1024
#define RSI_ERROR_CUT " [...truncated]"

static _Thread_local char err_msg[RSI_ERROR_MAX + sizeof RSI_ERROR_CUT];
static _Thread_local int err_pending;
static _Thread_local rsi_error_class err_class;

/* Newlines and tabs become spaces; trailing blanks go. */
static void squash(char *s)
{
    size_t n = 0;
    for (char *p = s; *p; p++, n++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

/* Formats into dst (room for RSI_ERROR_MAX characters plus the marker),
 * marking the cut when the text did not fit. */
static void format_capped(char *dst, const char *fmt, va_list ap)
{
    int n = vsnprintf(dst, RSI_ERROR_MAX + 1, fmt, ap);
    if (n < 0) {
        snprintf(dst, RSI_ERROR_MAX + 1, "(unformattable message '%s')", fmt);
        return;
    }
    if ((size_t)n > RSI_ERROR_MAX)
        memcpy(dst + RSI_ERROR_MAX, RSI_ERROR_CUT, sizeof RSI_ERROR_CUT);
}

static void record(rsi_error_class cls, const char *fmt, va_list ap)
{
    if (err_pending)
        return; /* the first message is the root cause: keep it */
    format_capped(err_msg, fmt ? fmt : "(null)", ap);
    squash(err_msg);
    err_class = cls == RSI_ERR_NONE ? RSI_ERR_INTERNAL : cls;
    err_pending = 1;
}

void rsi_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(RSI_ERR_INTERNAL, fmt, ap);
    va_end(ap);
}

void rsi_error_class_set(rsi_error_class cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(cls, fmt, ap);
    va_end(ap);
}

void rsi_error_reclass(rsi_error_class cls)
{
    if (err_pending && cls != RSI_ERR_NONE)
        err_class = cls;
}

/* The separator is added here unless the caller already wrote one, so
 * both rsi_error_prefix("image '%s'", p) and ("image '%s': ", p) read
 * "image 'a.png': cause". */
void rsi_error_prefix(const char *fmt, ...)
{
    if (!err_pending || !fmt)
        return;
    char prefix[RSI_ERROR_MAX + sizeof RSI_ERROR_CUT];
    va_list ap;
    va_start(ap, fmt);
    format_capped(prefix, fmt, ap);
    va_end(ap);
    squash(prefix);
    size_t n = strlen(prefix);
    if (n == 0)
        return;
    /* squash() dropped any trailing space, so ": " now ends in ':' */
    const char *sep = prefix[n - 1] == ':' ? " " : ": ";

    char joined[sizeof err_msg];
    int total =
        snprintf(joined, RSI_ERROR_MAX + 1, "%s%s%s", prefix, sep, err_msg);
    if (total > RSI_ERROR_MAX)
        memcpy(joined + RSI_ERROR_MAX, RSI_ERROR_CUT, sizeof RSI_ERROR_CUT);
    memcpy(err_msg, joined, sizeof err_msg);
}

const char *rsi_error_message(void)
{
    return err_pending ? err_msg : "";
}

rsi_error_class rsi_error_get_class(void)
{
    return err_pending ? err_class : RSI_ERR_NONE;
}

int rsi_error_pending(void)
{
    return err_pending;
}

void rsi_error_clear(void)
{
    err_pending = 0;
    err_class = RSI_ERR_NONE;
    err_msg[0] = '\0';
}

_Static_assert(sizeof((rsi_kept_error *)0)->message >= sizeof err_msg,
               "a kept error holds a whole message");

void rsi_error_keep(rsi_kept_error *k)
{
    snprintf(k->message, sizeof k->message, "%s",
             err_pending ? err_msg : "failed");
    k->cls = rsi_error_get_class();
    rsi_error_clear();
}

void rsi_error_raise(const rsi_kept_error *k)
{
    rsi_error_class_set(k->cls, "%s", k->message);
}
