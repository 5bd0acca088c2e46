/* rsicam command line: shared helpers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "numbers.h"
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
    if (rsi_strvec_push(l, item) < 0) {
        rsi_error("out of memory");
        return -1;
    }
    return 0;
}

int cli_list_add_split(cli_list *l, const char *text)
{
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            char *item = strndup(p, len);
            int rc = item ? cli_list_add(l, item) : -1;
            free(item);
            if (rc < 0) {
                if (!item)
                    rsi_error("out of memory");
                return -1;
            }
        }
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

void cli_list_free(cli_list *l)
{
    rsi_strvec_free(l);
}

int cli_parse_int(const char *option, const char *text, long long min,
                  long long max, long long *out)
{
    int64_t v;
    if (rsi_parse_int(text, min, max, &v) < 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "%s: expected an integer in [%lld, %lld], got "
                            "'%s'",
                            option, min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_floats(const char *option, const char *text, double *out, int n,
                     double min, double max)
{
    const char *p = text;
    int ok = 1;
    for (int i = 0; ok && i < n; i++) {
        /* the last number ends the text; the others end at ',' or 'x' */
        size_t len = i + 1 < n ? strcspn(p, ",x") : strlen(p);
        char item[64];
        ok = len < sizeof item && (i + 1 == n || p[len] != '\0');
        if (ok) {
            memcpy(item, p, len);
            item[len] = '\0';
            ok = rsi_parse_double(item, &out[i]) == 0 && out[i] >= min &&
                 out[i] <= max;
        }
        p += len + 1;
    }
    if (!ok) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "%s: expected %d number%s in [%g, %g], got '%s'",
                            option, n, n > 1 ? "s" : "", min, max, text);
        return -1;
    }
    return 0;
}

int cli_unknown_option(const char *command, int argc, char **argv)
{
    /* A cluster of short options ("-dash.png": -d, -a, ...) fails at its
     * first letter, before getopt moves past it: the argument is then
     * still argv[optind], not the one before it (which would blame
     * whatever came before, the --out path, say). */
    const char *arg = argv[optind - 1];
    if (optopt > 0 && optopt < 256 && optind < argc && argv[optind][0] == '-' &&
        argv[optind][1] == optopt)
        arg = argv[optind];
    int single_dash = arg[0] == '-' && arg[1] != '-';
    rsi_error_class_set(RSI_ERR_USAGE,
                        "%s: unknown or incomplete option '%s' (see rsicam %s "
                        "--help%s%s)",
                        command, arg, command,
                        single_dash ? "; a file whose name starts with '-' "
                                      "goes as ./"
                                    : "",
                        single_dash ? arg : "");
    return -1;
}
