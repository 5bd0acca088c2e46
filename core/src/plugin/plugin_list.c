/* The `rsicam plugins` listing: what is loaded, what each plugin takes,
 * and where the loader looked (the first thing to check when a plugin is
 * missing). */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "params.h"
#include "plugin_registry.h"

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static void range_text(const rsi_param_spec *sp, char *buf, size_t size)
{
    buf[0] = '\0';
    /* an integer's bounds as integers (1000000, not 1e+06) */
    if (sp->type == RSI_PARAM_INT && sp->min < sp->max)
        snprintf(buf, size, "[%lld, %lld]", (long long)sp->min,
                 (long long)sp->max);
    else if (sp->type == RSI_PARAM_FLOAT && sp->min < sp->max)
        snprintf(buf, size, "[%g, %g]", sp->min, sp->max);
}

static const char *default_text(const rsi_param_spec *sp)
{
    if (!sp->default_value)
        return sp->optional ? "optional" : "required";
    return *sp->default_value ? sp->default_value : "\"\"";
}

/* One table per plugin, columns sized to its own parameters. */
static void print_params(const rsi_param_spec *specs, FILE *out)
{
    int n = rsi_params_count(specs);
    if (n == 0) {
        fprintf(out, "    no parameters\n");
        return;
    }
    int wname = 4, wtype = 4, wdef = 7, wrange = 5;
    char range[64];
    for (int k = 0; k < n; k++) {
        wname = max_int(wname, (int)strlen(specs[k].name));
        wtype = max_int(wtype, (int)strlen(rsi_param_type_name(specs[k].type)));
        wdef = max_int(wdef, (int)strlen(default_text(&specs[k])));
        range_text(&specs[k], range, sizeof range);
        wrange = max_int(wrange, (int)strlen(range));
    }
    fprintf(out, "    %-*s  %-*s  %-*s  %-*s  %s\n", wname, "NAME", wtype,
            "TYPE", wdef, "DEFAULT", wrange, "RANGE", "DESCRIPTION");
    for (int k = 0; k < n; k++) {
        const rsi_param_spec *sp = &specs[k];
        range_text(sp, range, sizeof range);
        fprintf(out, "    %-*s  %-*s  %-*s  %-*s  %s\n", wname, sp->name, wtype,
                rsi_param_type_name(sp->type), wdef, default_text(sp), wrange,
                range, or_dash(sp->doc));
    }
}

static void print_plugin(const rsi_plugin *p, FILE *out)
{
    const rsi_plugin_descriptor *d = p->desc;
    fprintf(out, "  %s %s (license: %s)\n", d->name, or_dash(d->version),
            or_dash(d->license));
    fprintf(out, "    %s\n", or_dash(d->description));
    fprintf(out, "    file: %s\n", p->path);
    print_params(d->params, out);
}

static void print_kind(const rsi_registry *r, rsi_plugin_kind kind,
                       const char *title, FILE *out)
{
    int n = 0;
    for (int i = 0; i < rsi_registry_count(r); i++)
        n += rsi_registry_at(r, i)->desc->kind == kind;
    fprintf(out, "%s (%d)%s\n", title, n, n ? ":" : "");
    for (int i = 0; i < rsi_registry_count(r); i++) {
        const rsi_plugin *p = rsi_registry_at(r, i);
        if (p->desc->kind != kind)
            continue;
        print_plugin(p, out);
        fputc('\n', out);
    }
    if (n == 0)
        fputc('\n', out);
}

static void print_dirs(const rsi_registry *r, FILE *out)
{
    fprintf(out, "Searched, in order (the first plugin of a name wins):\n");
    for (int i = 0; i < rsi_registry_num_dirs(r); i++) {
        const char *origin;
        const char *dir = rsi_registry_dir(r, i, &origin);
        struct stat st;
        int missing = stat(dir, &st) != 0 || !S_ISDIR(st.st_mode);
        fprintf(out, "  %d. %s (%s)%s\n", i + 1, dir, or_dash(origin),
                missing ? " - missing" : "");
    }
    if (rsi_registry_num_dirs(r) == 0)
        fprintf(out, "  nothing\n");
}

int rsi_registry_print(const rsi_registry *r, FILE *out)
{
    print_kind(r, RSI_PLUGIN_MODEL, "Models", out);
    print_kind(r, RSI_PLUGIN_BASELINE, "Baselines", out);
    print_kind(r, RSI_PLUGIN_PATH, "Paths", out);
    print_dirs(r, out);
    if (fflush(out) != 0 || ferror(out)) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "writing the plugin list failed");
        return -1;
    }
    return 0;
}
