/* rsicam command line: shared helpers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rsicam/error.h"

int cli_fail(void)
{
    rsi_error_class cls = rsi_error_get_class();
    const char *msg = rsi_error_message();
    fprintf(stderr, "rsicam: %s\n", *msg ? msg : "failed");
    rsi_error_clear();
    return cls != RSI_ERR_NONE ? (int)cls : (int)RSI_ERR_INTERNAL;
}

rsi_registry *cli_registry(const char *const *dirs, int n_dirs)
{
    rsi_registry *r = rsi_registry_new();
    if (!r || rsi_registry_discover(r, dirs, n_dirs, stderr) < 0) {
        rsi_registry_free(r);
        return NULL;
    }
    rsi_registry_set_current(r);
    return r;
}

int cli_list_add(cli_list *l, const char *item)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        char **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) {
            rsi_error("out of memory");
            return -1;
        }
        l->items = items;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(item))) {
        rsi_error("out of memory");
        return -1;
    }
    l->n++;
    return 0;
}

int cli_list_add_split(cli_list *l, const char *text)
{
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            char item[len + 1];
            memcpy(item, p, len);
            item[len] = '\0';
            if (cli_list_add(l, item) < 0)
                return -1;
        }
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

void cli_list_free(cli_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    *l = (cli_list){0};
}

int cli_parse_int(const char *option, const char *text, long long min,
                  long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "%s: expected an integer >= %lld, got '%s'", option,
                            min, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_floats(const char *option, const char *text, double *out, int n)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        out[i] = strtod(p, &end);
        int sep_ok = i + 1 < n ? *end == ',' || *end == 'x' : *end == '\0';
        if (errno || end == p || !sep_ok || !isfinite(out[i])) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "%s: expected %d comma-separated numbers, "
                                "got '%s'",
                                option, n, text);
            return -1;
        }
        p = end + 1;
    }
    return 0;
}

int cli_unknown_option(const char *command, const char *arg)
{
    rsi_error_class_set(RSI_ERR_USAGE,
                        "%s: unknown or incomplete option '%s' (see rsicam %s "
                        "--help)",
                        command, arg, command);
    return -1;
}
