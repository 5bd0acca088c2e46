/* Plugin parameters: parsing and checking (see params.h). */

#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nearest.h"
#include "numbers.h"

#define NAME_LIST_MAX 512

int rsi_params_count(const rsi_param_spec *specs)
{
    int n = 0;
    while (specs && specs[n].name)
        n++;
    return n;
}

const char *rsi_param_type_name(rsi_param_type type)
{
    switch (type) {
    case RSI_PARAM_INT:
        return "int";
    case RSI_PARAM_FLOAT:
        return "float";
    case RSI_PARAM_BOOL:
        return "bool";
    case RSI_PARAM_STRING:
        return "string";
    case RSI_PARAM_PATH:
        return "path";
    }
    return "?";
}

static int parse_bool(const char *s, int64_t *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int in_bounds(const rsi_param_spec *sp, double v)
{
    return !(sp->min < sp->max) || (v >= sp->min && v <= sp->max);
}

/* Converts text for one parameter into *v. what is "" for a user's value
 * and "default " for a declared default, so messages say which was bad.
 * check_path: whether a path must exist now. The error carries no owner
 * label; the caller prefixes it. On failure *v holds nothing to free. */
static int convert(const rsi_param_spec *sp, const char *text, const char *what,
                   int check_path, rsi_param_value *v)
{
    const rsi_error_class usage = RSI_ERR_USAGE;
    memset(v, 0, sizeof *v);
    v->type = sp->type;
    switch (sp->type) {
    case RSI_PARAM_INT:
        if (rsi_parse_int(text, INT64_MIN, INT64_MAX, &v->i) != 0) {
            rsi_error_class_set(usage,
                                "parameter '%s': expected an integer, got "
                                "%s'%s'",
                                sp->name, what, text);
            return -1;
        }
        v->f = (double)v->i;
        v->text = strdup(text);
        break;
    case RSI_PARAM_FLOAT:
        if (rsi_parse_double(text, &v->f) != 0) {
            rsi_error_class_set(usage,
                                "parameter '%s': expected a number, got "
                                "%s'%s'",
                                sp->name, what, text);
            return -1;
        }
        v->text = strdup(text);
        break;
    case RSI_PARAM_BOOL:
        if (parse_bool(text, &v->i) != 0) {
            rsi_error_class_set(usage,
                                "parameter '%s': expected true or false "
                                "(also 1/0, yes/no, on/off), got %s'%s'",
                                sp->name, what, text);
            return -1;
        }
        break;
    case RSI_PARAM_PATH:
    case RSI_PARAM_STRING:
        if (sp->type == RSI_PARAM_PATH && check_path && !exists(text)) {
            rsi_error_class_set(usage, "parameter '%s': %s'%s': %s", sp->name,
                                what, text, strerror(errno));
            return -1;
        }
        v->s = strdup(text);
        if (!v->s) {
            rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
            return -1;
        }
        break;
    default:
        rsi_error_class_set(RSI_ERR_PLUGIN, "parameter '%s': unknown type %d",
                            sp->name, (int)sp->type);
        return -1;
    }
    v->has_value = 1;
    if ((sp->type == RSI_PARAM_INT || sp->type == RSI_PARAM_FLOAT) &&
        !v->text) {
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if ((sp->type == RSI_PARAM_INT || sp->type == RSI_PARAM_FLOAT) &&
        !in_bounds(sp, v->f)) {
        rsi_error_class_set(usage,
                            "parameter '%s': %s%s is out of range [%g, %g]",
                            sp->name, what, text, sp->min, sp->max);
        free((char *)v->text); /* a failure hands nothing out */
        v->text = NULL;
        return -1;
    }
    return 0;
}

void rsi_params_free(rsi_param_value *values)
{
    if (!values)
        return;
    for (rsi_param_value *v = values; v->type != 0; v++) {
        free((char *)v->s);
        free((char *)v->text);
    }
    free(values);
}

/* "a, b, c" into buf, for messages that list what is valid. */
static void join_names(const rsi_param_spec *specs, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; specs && specs[i].name && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                         specs[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static void error_unknown_key(const rsi_param_spec *specs, const char *key)
{
    int n = rsi_params_count(specs);
    if (n == 0) {
        rsi_error_class_set(RSI_ERR_USAGE, "takes no parameters, got '%s'",
                            key);
        return;
    }
    const char *names[RSI_PARAMS_MAX];
    int m = n < RSI_PARAMS_MAX ? n : RSI_PARAMS_MAX;
    for (int i = 0; i < m; i++)
        names[i] = specs[i].name;
    const char *near = rsi_nearest(key, names, m);
    char list[NAME_LIST_MAX];
    join_names(specs, list, sizeof list);
    if (near)
        rsi_error_class_set(RSI_ERR_USAGE,
                            "unknown parameter '%s' (did you mean '%s'?); "
                            "parameters: %s",
                            key, near, list);
    else
        rsi_error_class_set(
            RSI_ERR_USAGE, "unknown parameter '%s'; parameters: %s", key, list);
}

static int find_spec(const rsi_param_spec *specs, const char *name)
{
    for (int i = 0; specs && specs[i].name; i++)
        if (strcmp(specs[i].name, name) == 0)
            return i;
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Cuts the next "key=value" item off *p into key/value (both pointing
 * into buf, which must hold strlen(*p) + 1 bytes). Returns 1 with an item,
 * 0 at the end, -1 on a malformed item. */
static int next_item(const char **p, char *buf, char **key, char **value)
{
    const char *s = *p;
    if (!*s)
        return 0;
    char *out = buf;
    char *eq = NULL;
    for (; *s && *s != ','; s++) {
        if (*s == '\\' && eq && (s[1] == ',' || s[1] == '\\')) {
            *out++ = *++s;
            continue;
        }
        if (*s == '=' && !eq) {
            *out++ = '\0';
            eq = out;
            continue;
        }
        *out++ = *s;
    }
    *out = '\0';
    *p = *s ? s + 1 : s;
    *key = trim(buf);
    if (!eq || !**key) {
        /* restore the '=' for the message */
        if (eq)
            eq[-1] = '=';
        rsi_error_class_set(RSI_ERR_USAGE, "expected NAME=VALUE, got '%s'",
                            trim(buf));
        return -1;
    }
    *value = trim(eq);
    return 1;
}

static int blank(const char *s)
{
    while (s && (*s == ' ' || *s == '\t'))
        s++;
    return !s || !*s;
}

static int parse_user(const rsi_param_spec *specs, const char *text,
                      rsi_param_value *vals)
{
    char *buf = malloc(strlen(text) + 1);
    if (!buf) {
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
        return -1;
    }
    const char *p = text;
    char *key, *value;
    int rc, status = 0;
    while ((rc = next_item(&p, buf, &key, &value)) == 1) {
        int k = find_spec(specs, key);
        if (k < 0) {
            error_unknown_key(specs, key);
            status = -1;
            break;
        }
        if (vals[k].is_set) {
            rsi_error_class_set(RSI_ERR_USAGE, "parameter '%s' given twice",
                                key);
            status = -1;
            break;
        }
        if (convert(&specs[k], value, "", 1, &vals[k]) != 0) {
            status = -1;
            break;
        }
        vals[k].is_set = 1;
    }
    free(buf);
    return rc < 0 ? -1 : status;
}

static int fill_defaults(const rsi_param_spec *specs, rsi_param_value *vals,
                         int n)
{
    for (int k = 0; k < n; k++) {
        const rsi_param_spec *sp = &specs[k];
        if (vals[k].is_set || (sp->optional && !sp->default_value))
            continue;
        if (!sp->default_value) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "parameter '%s' is required (%s%s%s)", sp->name,
                                rsi_param_type_name(sp->type),
                                sp->doc ? ": " : "", sp->doc ? sp->doc : "");
            return -1;
        }
        int check = !(sp->type == RSI_PARAM_PATH && !*sp->default_value);
        if (convert(sp, sp->default_value, "default ", check, &vals[k]) != 0)
            return -1;
    }
    return 0;
}

int rsi_params_parse(const rsi_param_spec *specs, const char *text,
                     const char *owner, rsi_param_value **out)
{
    *out = NULL;
    int n = rsi_params_count(specs);
    rsi_param_value *vals = calloc((size_t)n + 1, sizeof *vals);
    if (!vals) {
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
        return -1;
    }
    int rc = 0;
    if (!blank(text))
        rc = parse_user(specs, text, vals);
    if (rc == 0)
        rc = fill_defaults(specs, vals, n);
    if (rc != 0) {
        /* Slots not yet converted have type 0, which would end the array
         * early for rsi_params_free(): free each slot here instead. */
        for (int k = 0; k < n; k++) {
            free((char *)vals[k].s);
            free((char *)vals[k].text);
        }
        free(vals);
        if (owner)
            rsi_error_prefix("%s", owner);
        return -1;
    }
    for (int k = 0; k < n; k++)
        vals[k].type = specs[k].type;
    *out = vals;
    return 0;
}

static int good_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
            return 0;
    return 1;
}

int rsi_params_check_specs(const rsi_param_spec *specs)
{
    for (int k = 0; specs && specs[k].name; k++) {
        const rsi_param_spec *sp = &specs[k];
        if (k >= RSI_PARAMS_MAX) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "more than %d parameters declared (is the "
                                "list missing its {NULL} terminator?)",
                                RSI_PARAMS_MAX);
            return -1;
        }
        if (!good_name(sp->name)) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "parameter name '%s' is not made of "
                                "letters, digits, '_', '-' and '.'",
                                sp->name);
            return -1;
        }
        if (find_spec(specs, sp->name) != k) {
            rsi_error_class_set(RSI_ERR_PLUGIN, "parameter '%s' declared twice",
                                sp->name);
            return -1;
        }
        if (!((int)sp->type >= RSI_PARAM_INT &&
              (int)sp->type <= RSI_PARAM_PATH)) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "parameter '%s': unknown type %d", sp->name,
                                (int)sp->type);
            return -1;
        }
        if (sp->optional && sp->default_value) {
            rsi_error_class_set(RSI_ERR_PLUGIN,
                                "parameter '%s' is optional and has a default "
                                "('%s'): an optional parameter has none",
                                sp->name, sp->default_value);
            return -1;
        }
        if (sp->default_value) {
            rsi_param_value v;
            if (convert(sp, sp->default_value, "default ", 0, &v) != 0) {
                rsi_error_reclass(RSI_ERR_PLUGIN);
                return -1;
            }
            free((char *)v.s);
            free((char *)v.text);
        }
    }
    return 0;
}

int rsi_plugin_spec_split(const char *spec, char **name, char **text)
{
    *name = NULL;
    *text = NULL;
    if (!spec)
        spec = "";
    while (*spec == ' ' || *spec == '\t')
        spec++;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    while (len > 0 && (spec[len - 1] == ' ' || spec[len - 1] == '\t'))
        len--;
    if (len == 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "expected a plugin as NAME or NAME:k=v,..., got "
                            "'%s'",
                            spec);
        return -1;
    }
    *name = strndup(spec, len);
    if (colon)
        *text = strdup(colon + 1);
    if (!*name || (colon && !*text)) {
        free(*name);
        free(*text);
        *name = *text = NULL;
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}
