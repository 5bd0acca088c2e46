/* The host table's parameter getters (params.h, plugin.h).
 *
 * A plugin reads its parameters by name. A mistake there (a typo, a
 * getter of the wrong type, an optional parameter read without asking
 * param_set first) must be a clear error that names the parameter, never
 * a crash: the getter records the error and returns a harmless value, and
 * the host fails the call whatever the plugin returns (plugin_call.c).
 */
#include <math.h>
#include <string.h>

#include "params.h"

/* As the host's error(): a plugin error, which does not replace one
 * already pending (the first error of a call is the one worth reading). */
#define getter_error(...)                                                      \
    (rsi_error_pending() ? (void)0                                             \
                         : rsi_error_class_set(RSI_ERR_PLUGIN, __VA_ARGS__))

/* The value of name when it is declared, has one and is of a type in
 * want (bits 1 << type); else NULL with the error. */
static const rsi_param_value *lookup(const rsi_context *ctx, const char *name,
                                     unsigned want, const char *getter)
{
    const rsi_param_spec *specs =
        ctx && ctx->plugin ? ctx->plugin->params : NULL;
    int k = 0;
    while (name && specs && specs[k].name && strcmp(specs[k].name, name) != 0)
        k++;
    if (!name || !specs || !specs[k].name || !ctx->params) {
        getter_error("asked for parameter '%s', which it does not declare",
                     name ? name : "(null)");
        return NULL;
    }
    const rsi_param_value *v = &ctx->params[k];
    if (!(want & (1u << specs[k].type))) {
        getter_error("read parameter '%s' (%s) with %s()", name,
                     rsi_param_type_name(specs[k].type), getter);
        return NULL;
    }
    if (getter && !v->has_value) {
        getter_error("read optional parameter '%s', which was not given "
                     "(ask param_set() first)",
                     name);
        return NULL;
    }
    return v;
}

#define BIT(t) (1u << (t))

int64_t rsi_params_get_int(const rsi_context *ctx, const char *name)
{
    const rsi_param_value *v =
        lookup(ctx, name, BIT(RSI_PARAM_INT), "param_int");
    return v ? v->i : 0;
}

double rsi_params_get_float(const rsi_context *ctx, const char *name)
{
    /* an integer is a number too */
    const rsi_param_value *v = lookup(
        ctx, name, BIT(RSI_PARAM_FLOAT) | BIT(RSI_PARAM_INT), "param_float");
    return v ? v->f : NAN;
}

int rsi_params_get_bool(const rsi_context *ctx, const char *name)
{
    const rsi_param_value *v =
        lookup(ctx, name, BIT(RSI_PARAM_BOOL), "param_bool");
    return v ? v->i != 0 : 0;
}

const char *rsi_params_get_string(const rsi_context *ctx, const char *name)
{
    const rsi_param_value *v = lookup(
        ctx, name, BIT(RSI_PARAM_STRING) | BIT(RSI_PARAM_PATH), "param_string");
    return v && v->s ? v->s : "";
}

int rsi_params_get_set(const rsi_context *ctx, const char *name)
{
    const rsi_param_value *v = lookup(ctx, name, ~0u, NULL);
    return v ? v->has_value : 0;
}
