/* rsicam — reading YAML into configuration trees, from libyaml's event
 * stream (see config.h).
 *
 * Events, not libyaml's document loader: the loader builds the whole
 * document before anything can be checked, so a file of a million '['
 * ran for minutes before the depth was seen. Here the depth and the
 * number of values are checked as each event arrives, and parsing stops
 * at the first one past its bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"
#include "config_keys.h"
#include "regular_file.h"

/* Deeper than any sensible config. */
#define MAX_DEPTH 64
/* More values than any hand-written file has, aliases counted each time
 * they are used: what stops aliases that expand exponentially (a 430-byte
 * "billion laughs" file, ten lists of ten aliases of the one before, would
 * otherwise become 10^9 nodes) and lists too long to be typed. */
#define MAX_NODES (1L << 18)
/* An experiment file is typed by hand: 64 MiB is far past any. */
#define MAX_FILE_BYTES (64L << 20)

/* A list or mapping being filled. */
typedef struct frame {
    rsi_cfg *node;
    char *anchor;   /* registered when the node is complete; NULL: none */
    rsi_cfg *key;   /* MAP: the key whose value comes next */
    int skip_value; /* MAP: the key was refused; drop its value */
    rsi_cfg_keys keys;
} frame;

typedef struct anchor {
    char *name;
    rsi_cfg *node; /* a copy, made when the anchored node was complete */
    long size;     /* its nodes, to count each use before copying */
} anchor;

typedef struct loader {
    const char *origin;
    int with_lines; /* 0 for overrides: every node gets line 0 */
    rsi_diag *d;
    frame stack[MAX_DEPTH];
    int depth;
    anchor *anchors;
    int n_anchors, cap_anchors;
    rsi_cfg *root;
    long nodes; /* made so far, aliases counted each time */
    int documents;
    int failed; /* a problem that ends the parse was recorded */
} loader;

static int line_of(const loader *ld, const yaml_event_t *ev)
{
    return ld->with_lines ? (int)ev->start_mark.line + 1 : 0;
}

static void fail(loader *ld, int line, const char *what)
{
    rsi_diag_add_at(ld->d, ld->origin, line, "%s", what);
    ld->failed = 1;
}

static long count_nodes(const rsi_cfg *n)
{
    long k = 1;
    for (int i = 0; i < n->n; i++)
        k += count_nodes(n->items[i]) + (n->keys ? 1 : 0);
    return k;
}

/* Counts nodes about to be made; 0, or -1 past the bound. */
static int take_nodes(loader *ld, long k, int line)
{
    if (ld->nodes + k <= MAX_NODES) {
        ld->nodes += k;
        return 0;
    }
    char msg[256];
    snprintf(msg, sizeof msg,
             "more than %ld values (aliases that expand exponentially, or a "
             "list too long to type: give many images as a folder, a glob or "
             "a .csv list file)",
             MAX_NODES);
    fail(ld, line, msg);
    return -1;
}

static int add_anchor(loader *ld, char *name, const rsi_cfg *node)
{
    if (ld->n_anchors == ld->cap_anchors) {
        int cap = ld->cap_anchors ? 2 * ld->cap_anchors : 8;
        anchor *grown = realloc(ld->anchors, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        ld->anchors = grown;
        ld->cap_anchors = cap;
    }
    rsi_cfg *copy = rsi_cfg_copy(node);
    if (!copy)
        return -1;
    /* a later anchor of the same name hides the earlier one: search from
     * the end */
    ld->anchors[ld->n_anchors++] =
        (anchor){.name = name, .node = copy, .size = count_nodes(copy)};
    return 0;
}

/* A copy of the node anchored as name, or NULL with a problem. */
static rsi_cfg *resolve_alias(loader *ld, const char *name, int line)
{
    for (int i = ld->n_anchors - 1; i >= 0; i--) {
        if (strcmp(ld->anchors[i].name, name) != 0)
            continue;
        if (take_nodes(ld, ld->anchors[i].size, line) < 0)
            return NULL;
        return rsi_cfg_copy(ld->anchors[i].node);
    }
    char msg[512];
    snprintf(msg, sizeof msg,
             "alias '*%.200s' names no complete anchor before it (an "
             "undefined or recursive alias)",
             name);
    fail(ld, line, msg);
    return NULL;
}

/* Puts a complete node (taken over) where it belongs: the root, the next
 * item of a list, or a mapping's key or value. anchor (taken over):
 * registered for later aliases. Returns 0 or -1. */
static int place(loader *ld, rsi_cfg *node, char *anchor_name)
{
    if (anchor_name && add_anchor(ld, anchor_name, node) < 0) {
        free(anchor_name);
        rsi_cfg_free(node);
        return -1;
    }
    if (ld->depth == 0) {
        ld->root = node;
        return 0;
    }
    frame *f = &ld->stack[ld->depth - 1];
    if (f->node->kind == RSI_CFG_LIST) {
        if (rsi_cfg_append(f->node, node) < 0) {
            rsi_cfg_free(node);
            return -1;
        }
        return 0;
    }
    if (f->skip_value) {
        f->skip_value = 0;
        rsi_cfg_free(node);
        return 0;
    }
    if (!f->key) {
        if (node->kind != RSI_CFG_SCALAR) {
            rsi_diag_add(ld->d, node,
                         "a mapping key must be a plain name, not a list "
                         "or mapping");
            f->skip_value = 1;
            rsi_cfg_free(node);
            return 0;
        }
        f->key = node;
        return 0;
    }
    rsi_cfg *key = f->key;
    f->key = NULL;
    int first = rsi_cfg_keys_find(&f->keys, f->node, key->text);
    if (first >= 0) {
        rsi_cfg *old = f->node->keys[first];
        rsi_diag_add(ld->d, key,
                     "duplicate key '%s' (first given at line %d); the last "
                     "one would win",
                     key->text, old->line);
        /* the later value wins, and messages about the key point at the
         * later key */
        rsi_cfg_free(f->node->items[first]);
        f->node->items[first] = node;
        f->node->keys[first] = key;
        rsi_cfg_free(old);
        return 0;
    }
    if (rsi_cfg_append_pair(f->node, key, node) < 0) {
        rsi_cfg_free(key);
        rsi_cfg_free(node);
        return -1;
    }
    return rsi_cfg_keys_add(&f->keys, f->node, f->node->n - 1);
}

static char *anchor_of(const yaml_char_t *a)
{
    return a ? strdup((const char *)a) : NULL;
}

/* A list or mapping starts: a frame, or a problem past MAX_DEPTH. */
static int open_node(loader *ld, const yaml_event_t *ev, rsi_cfg_kind kind,
                     const yaml_char_t *anchor_name)
{
    int line = line_of(ld, ev);
    if (ld->depth >= MAX_DEPTH) {
        char msg[128];
        snprintf(msg, sizeof msg, "nested more than %d levels deep", MAX_DEPTH);
        fail(ld, line, msg);
        return -1;
    }
    if (take_nodes(ld, 1, line) < 0)
        return -1;
    rsi_cfg *node = rsi_cfg_new(kind, ld->origin, line);
    char *name = anchor_of(anchor_name);
    if (!node || (anchor_name && !name)) {
        rsi_cfg_free(node);
        free(name);
        return -1;
    }
    ld->stack[ld->depth++] = (frame){.node = node, .anchor = name};
    return 0;
}

static int close_node(loader *ld)
{
    frame f = ld->stack[--ld->depth];
    rsi_cfg_keys_free(&f.keys);
    rsi_cfg_free(f.key); /* a key without a value: cannot happen in YAML */
    return place(ld, f.node, f.anchor);
}

static int scalar(loader *ld, const yaml_event_t *ev)
{
    if (take_nodes(ld, 1, line_of(ld, ev)) < 0)
        return -1;
    rsi_cfg *c = rsi_cfg_new(RSI_CFG_SCALAR, ld->origin, line_of(ld, ev));
    size_t len = ev->data.scalar.length;
    char *text = c ? malloc(len + 1) : NULL;
    char *name = anchor_of(ev->data.scalar.anchor);
    if (!text || (ev->data.scalar.anchor && !name)) {
        rsi_cfg_free(c);
        free(text);
        free(name);
        return -1;
    }
    memcpy(text, ev->data.scalar.value, len);
    text[len] = '\0';
    c->text = text;
    yaml_scalar_style_t st = ev->data.scalar.style;
    c->quoted = st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                st == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                st == YAML_LITERAL_SCALAR_STYLE ||
                st == YAML_FOLDED_SCALAR_STYLE;
    return place(ld, c, name);
}

/* One event into the tree. Returns 1 at the end of the stream, 0 to go
 * on, -1 to stop (a problem recorded, or out of memory). */
static int on_event(loader *ld, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++ld->documents > 1) {
            fail(ld, line_of(ld, ev),
                 "a second YAML document ('---'): an experiment is one "
                 "document");
            return -1;
        }
        return 0;
    case YAML_SCALAR_EVENT:
        return scalar(ld, ev);
    case YAML_SEQUENCE_START_EVENT:
        return open_node(ld, ev, RSI_CFG_LIST, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return open_node(ld, ev, RSI_CFG_MAP, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_node(ld);
    case YAML_ALIAS_EVENT: {
        rsi_cfg *c = resolve_alias(ld, (const char *)ev->data.alias.anchor,
                                   line_of(ld, ev));
        return c ? place(ld, c, NULL) : -1;
    }
    case YAML_STREAM_END_EVENT:
        return 1;
    default: /* stream start, document end */
        return 0;
    }
}

static void loader_free(loader *ld)
{
    while (ld->depth > 0) {
        frame *f = &ld->stack[--ld->depth];
        rsi_cfg_keys_free(&f->keys);
        rsi_cfg_free(f->key);
        rsi_cfg_free(f->node);
        free(f->anchor);
    }
    for (int i = 0; i < ld->n_anchors; i++) {
        free(ld->anchors[i].name);
        rsi_cfg_free(ld->anchors[i].node);
    }
    free(ld->anchors);
}

/* Reads the one document of a ready parser. empty: what an empty stream
 * becomes (a map for files, a null scalar for values). */
static rsi_cfg *load(yaml_parser_t *parser, const char *origin, int with_lines,
                     rsi_cfg_kind empty, rsi_diag *d)
{
    loader ld = {.origin = origin, .with_lines = with_lines, .d = d};
    int rc = 0;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev)) {
            const char *ctx = parser->context ? parser->context : "";
            rsi_diag_add_at(d, origin,
                            with_lines ? (int)parser->problem_mark.line + 1 : 0,
                            "not valid YAML: %s%s%s", ctx, *ctx ? ": " : "",
                            parser->problem ? parser->problem : "parse error");
            ld.failed = 1;
            break;
        }
        rc = on_event(&ld, &ev);
        yaml_event_delete(&ev);
    }
    if (rc < 0 && !ld.failed)
        rsi_diag_add_at(d, origin, 0, "out of memory");
    rsi_cfg *c = rc == 1 ? ld.root : NULL;
    if (rc != 1)
        rsi_cfg_free(ld.root);
    loader_free(&ld);
    if (rc == 1 && !c)
        c = empty == RSI_CFG_MAP ? rsi_cfg_new(RSI_CFG_MAP, origin, 1)
                                 : rsi_cfg_new_scalar("", origin, 0);
    return c;
}

rsi_cfg *rsi_cfg_load_file(const char *path, rsi_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    const char *why;
    if (rsi_read_regular(path, MAX_FILE_BYTES, &text, &len, &why) < 0) {
        rsi_diag_add_at(d, path, 0, "cannot read: %s", why);
        return NULL;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        rsi_diag_add_at(d, path, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    rsi_cfg *c = load(&parser, path, 1, RSI_CFG_MAP, d);
    yaml_parser_delete(&parser);
    free(text);
    if (c && c->kind != RSI_CFG_MAP) {
        rsi_diag_add(d, c,
                     "an experiment file must be a mapping of keys "
                     "(model:, layers:, ...), not %s",
                     rsi_cfg_kind_name(c));
        rsi_cfg_free(c);
        return NULL;
    }
    return c;
}

rsi_cfg *rsi_cfg_parse_value(const char *text, const char *origin, rsi_diag *d)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        rsi_diag_add_at(d, origin, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text,
                                 strlen(text));
    rsi_cfg *c = load(&parser, origin, 0, RSI_CFG_SCALAR, d);
    yaml_parser_delete(&parser);
    return c;
}
