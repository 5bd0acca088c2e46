/* rsicam — writing JSON values as YAML (the resolved experiment).
 *
 * The runner keeps its resolved configuration as a JSON value (jansson:
 * ordered keys, typed scalars) and saves it as YAML a person can read and
 * rsicam can run again. Strings that YAML would read back as something
 * else ("50", "yes", "null", "") are quoted.
 */
#ifndef RSICAM_CONFIG_EMIT_H
#define RSICAM_CONFIG_EMIT_H

#include <jansson.h>

/* YAML text for v (block style), preceded by comment, a text whose every
 * line gets "# " (NULL: none). New string, or NULL with an error. */
char *rsi_yaml_from_json(const json_t *v, const char *comment);

/* The shortest "%.Ng" text of d that reads back as d exactly. */
void rsi_format_double(double d, char *buf, size_t size);

#endif
