/* Plugin parameters: the user's "k=v,k=v" text checked against what a
 * plugin declares (rsi_param_spec), turned into one typed value per
 * declared parameter.
 *
 * Errors are RSI_ERR_USAGE (the user typed something wrong) and read like
 *     baseline 'blur': parameter 'sigma': expected a number, got 'abc'
 * where "baseline 'blur'" is the owner label the caller passes.
 */
#ifndef RSICAM_PARAMS_H
#define RSICAM_PARAMS_H

#include "rsicam/plugin.h"

/* The most parameters one plugin may declare (the loader refuses more). */
#define RSI_PARAMS_MAX 64

/* Number of declared parameters (specs ends with a NULL name; NULL specs
 * declares none). */
int rsi_params_count(const rsi_param_spec *specs);

/* Parses text ("k=v,k=v"; NULL or blank: all defaults) against specs.
 * On success *out holds rsi_params_count(specs) values in declaration
 * order, followed by one zeroed entry (type 0) that ends the array; free it
 * with rsi_params_free(). Unset parameters take their default; a parameter
 * whose default is NULL is required unless it is optional (then it has no
 * value: has_value 0). Keys and values are trimmed of blanks;
 * "\," and "\\" in a value stand for ',' and '\'. Numbers are checked
 * against [min, max] when min < max; paths must exist (an empty default
 * path means "none" and is not checked). owner ("baseline 'blur'") starts
 * every message; NULL: none. Returns 0, or -1 with an error. */
int rsi_params_parse(const rsi_param_spec *specs, const char *text,
                     const char *owner, rsi_param_value **out);

/* Frees what rsi_params_parse() returned (NULL is fine). */
void rsi_params_free(rsi_param_value *values);

/* Checks a declaration as the loader must before trusting it: names set,
 * well formed and unique, known types, defaults that parse and lie within
 * their bounds (paths are not checked for existence here). Returns 0, or
 * -1 with an RSI_ERR_PLUGIN error naming the bad parameter. More than
 * RSI_PARAMS_MAX is refused (a declaration missing its terminator). */
int rsi_params_check_specs(const rsi_param_spec *specs);

/* The host table's typed getters (plugin.h): the value of the parameter
 * called name of ctx->plugin, read from ctx->params. An undeclared name,
 * a getter of another type or an optional parameter left out is an
 * RSI_ERR_PLUGIN error naming the parameter; then 0, NaN or "". */
int64_t rsi_params_get_int(const rsi_context *ctx, const char *name);
double rsi_params_get_float(const rsi_context *ctx, const char *name);
int rsi_params_get_bool(const rsi_context *ctx, const char *name);
const char *rsi_params_get_string(const rsi_context *ctx, const char *name);
int rsi_params_get_set(const rsi_context *ctx, const char *name);

/* "int", "float", "bool", "string", "path" ("?" for anything else). */
const char *rsi_param_type_name(rsi_param_type type);

/* Splits a command-line plugin choice "NAME" or "NAME:k=v,k=v" into new
 * strings *name and *text (*text is NULL when there is no ':'); the caller
 * frees both. An empty name is an RSI_ERR_USAGE error. Returns 0 or -1. */
int rsi_plugin_spec_split(const char *spec, char **name, char **text);

#endif
