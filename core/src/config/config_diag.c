/* rsicam — collected configuration problems (see config.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void add(rsi_diag *d, const char *origin, int line, const char *fmt,
                va_list ap)
{
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 8;
        rsi_diag_item *items = realloc(d->items, (size_t)cap * sizeof *items);
        if (!items)
            return; /* out of memory: the problem is lost, not the run */
        d->items = items;
        d->cap = cap;
    }
    char *message = NULL;
    if (vasprintf(&message, fmt, ap) < 0)
        return;
    rsi_diag_item *it = &d->items[d->n];
    *it = (rsi_diag_item){.line = line, .seq = d->n, .message = message};
    if (origin && !(it->origin = strdup(origin))) {
        free(message);
        return;
    }
    d->n++;
}

void rsi_diag_add(rsi_diag *d, const rsi_cfg *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, at ? at->origin : NULL, at ? at->line : 0, fmt, ap);
    va_end(ap);
}

void rsi_diag_add_at(rsi_diag *d, const char *origin, int line, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, origin, line, fmt, ap);
    va_end(ap);
}

/* Files (line > 0) first in origin and line order, then overrides and
 * unlocated problems in the order found: the order a reader fixes them. */
static int cmp_item(const void *pa, const void *pb)
{
    const rsi_diag_item *a = pa, *b = pb;
    int fa = a->line > 0, fb = b->line > 0;
    if (fa != fb)
        return fb - fa;
    if (fa) {
        int c = strcmp(a->origin, b->origin);
        if (c)
            return c;
        if (a->line != b->line)
            return a->line < b->line ? -1 : 1;
    }
    return a->seq - b->seq;
}

char *rsi_diag_format(const rsi_diag *d, int i)
{
    const rsi_diag_item *it = &d->items[i];
    char *s = NULL;
    int rc;
    if (it->origin && it->line > 0)
        rc = asprintf(&s, "%s:%d: %s", it->origin, it->line, it->message);
    else if (it->origin)
        rc = asprintf(&s, "%s: %s", it->origin, it->message);
    else
        rc = asprintf(&s, "%s", it->message);
    return rc < 0 ? NULL : s;
}

void rsi_diag_print(rsi_diag *d, const char *prefix, FILE *out)
{
    if (d->n > 1) /* items is NULL when there are none: UB for qsort */
        qsort(d->items, (size_t)d->n, sizeof *d->items, cmp_item);
    for (int i = 0; i < d->n; i++) {
        char *s = rsi_diag_format(d, i);
        fprintf(out, "%s%s\n", prefix ? prefix : "",
                s ? s : d->items[i].message);
        free(s);
    }
}

void rsi_diag_free(rsi_diag *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->items[i].origin);
        free(d->items[i].message);
    }
    free(d->items);
    *d = (rsi_diag){0};
}
