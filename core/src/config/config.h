/* rsicam — configuration documents: YAML read into a small tree whose every
 * node remembers where it came from, and a list of problems found in it.
 *
 * Experiment files are written by hand and validated as a whole: every
 * problem is reported at once, as "FILE:LINE: message" (or, for a value
 * given on the command line, "override 'k=v': message"). So nodes carry
 * their origin and line, and problems are collected (rsi_diag) instead of
 * stopping at the first.
 *
 * The YAML subset is YAML 1.1 as libyaml reads it; anchors and aliases are
 * expanded into copies, a file holds one document (a second is an error),
 * a mapping's keys must be scalars, nesting stops at 64 levels and a file
 * at 2^18 values.
 */
#ifndef RSICAM_CONFIG_H
#define RSICAM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rsicam/error.h"

typedef enum rsi_cfg_kind {
    RSI_CFG_SCALAR = 1,
    RSI_CFG_LIST = 2,
    RSI_CFG_MAP = 3
} rsi_cfg_kind;

typedef struct rsi_cfg rsi_cfg;
struct rsi_cfg {
    rsi_cfg_kind kind;
    char *text;   /* SCALAR: the text as written (unescaped) */
    int quoted;   /* SCALAR: written in quotes (a string, never null) */
    char *origin; /* the file, or "override 'k=v'" */
    int line;     /* 1-based line in origin; 0 for overrides */
    int n, cap;
    rsi_cfg **items; /* LIST: the items; MAP: the values */
    rsi_cfg **keys;  /* MAP: the keys (scalars), parallel to items */
};

/* ---- problems ---------------------------------------------------------- */

typedef struct rsi_diag_item {
    char *origin; /* NULL: no location */
    int line;
    int seq; /* order of discovery, to keep sorting stable */
    char *message;
} rsi_diag_item;

typedef struct rsi_diag {
    rsi_diag_item *items;
    int n, cap;
} rsi_diag;

/* Records a problem at node at (NULL: none), printf-style. */
void rsi_diag_add(rsi_diag *d, const rsi_cfg *at, const char *fmt, ...)
    RSI_PRINTF(3, 4);
/* Same with an explicit origin and line (line 0: origin alone). */
void rsi_diag_add_at(rsi_diag *d, const char *origin, int line, const char *fmt,
                     ...) RSI_PRINTF(4, 5);
/* Sorts by origin (files before overrides) and line, then prints one
 * "PREFIXWHERE: message" line per problem. */
void rsi_diag_print(rsi_diag *d, const char *prefix, FILE *out);
/* Formats problem i as "FILE:LINE: message" (new string). */
char *rsi_diag_format(const rsi_diag *d, int i);
void rsi_diag_free(rsi_diag *d);

/* "FILE:LINE" or "override 'k=v'" for a node. */
void rsi_cfg_where(const rsi_cfg *n, char *buf, size_t size);

/* ---- reading ----------------------------------------------------------- */

/* Reads a YAML file. A syntax error or unreadable file gives NULL with one
 * problem in d; duplicate keys are recorded in d but the tree is returned
 * (the later value wins). An empty file is an empty map. */
rsi_cfg *rsi_cfg_load_file(const char *path, rsi_diag *d);

/* Parses text (a YAML value: "8", "[a, b]", "{name: blur}") with every
 * node tagged origin, line 0. NULL with a problem in d on a syntax error.
 * Empty text is a null scalar. */
rsi_cfg *rsi_cfg_parse_value(const char *text, const char *origin, rsi_diag *d);

void rsi_cfg_free(rsi_cfg *n);
rsi_cfg *rsi_cfg_copy(const rsi_cfg *n);

/* ---- building and querying -------------------------------------------- */

rsi_cfg *rsi_cfg_new(rsi_cfg_kind kind, const char *origin, int line);
rsi_cfg *rsi_cfg_new_scalar(const char *text, const char *origin, int line);
/* Appends item (taken over) to a LIST. Returns 0 or -1 (out of memory). */
int rsi_cfg_append(rsi_cfg *list, rsi_cfg *item);
/* Appends key and value (both taken over on success) to a MAP, without
 * looking for key among the keys already there. Returns 0 or -1. */
int rsi_cfg_append_pair(rsi_cfg *map, rsi_cfg *key, rsi_cfg *value);
/* Sets key in a MAP to value (taken over), replacing an existing value
 * (freed). The key node takes value's origin. Returns 0 or -1. */
int rsi_cfg_set(rsi_cfg *map, const char *key, rsi_cfg *value);
/* Removes key from a MAP (no-op when absent). */
void rsi_cfg_remove(rsi_cfg *map, const char *key);

/* The value of key in a MAP, or NULL (also when map is not a MAP). */
rsi_cfg *rsi_cfg_get(const rsi_cfg *map, const char *key);
/* The key node of key, for messages about the key itself. */
const rsi_cfg *rsi_cfg_key_node(const rsi_cfg *map, const char *key);

/* A plain null: "", "~", "null" (any case) unquoted, or NULL. */
int rsi_cfg_is_null(const rsi_cfg *n);
/* "a scalar", "a list", "a mapping", "null": for "expected X, got Y". */
const char *rsi_cfg_kind_name(const rsi_cfg *n);

/* Scalar conversions: 0 on success, -1 when the text is not one
 * (no error is recorded: callers phrase it). Booleans accept YAML 1.1's
 * true/false/yes/no/on/off. */
int rsi_cfg_int(const rsi_cfg *n, int64_t *out);
int rsi_cfg_float(const rsi_cfg *n, double *out);
int rsi_cfg_bool(const rsi_cfg *n, int *out);

#endif
