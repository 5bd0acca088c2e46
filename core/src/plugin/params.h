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
 * whose default is NULL is required. Keys and values are trimmed of blanks;
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

/* The value of the parameter called name, or NULL (with an RSI_ERR_PLUGIN
 * error: a plugin asked for something it never declared). The host
 * table's param(). */
const rsi_param_value *rsi_params_get(const rsi_param_spec *specs,
                                      const rsi_param_value *values,
                                      const char *name);

/* "int", "float", "bool", "string", "path" ("?" for anything else). */
const char *rsi_param_type_name(rsi_param_type type);

/* Splits a command-line plugin choice "NAME" or "NAME:k=v,k=v" into new
 * strings *name and *text (*text is NULL when there is no ':'); the caller
 * frees both. An empty name is an RSI_ERR_USAGE error. Returns 0 or -1. */
int rsi_plugin_spec_split(const char *spec, char **name, char **text);

#endif
