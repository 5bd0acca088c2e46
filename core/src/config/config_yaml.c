/* rsicam — reading YAML into configuration trees, through libyaml's
 * document loader (see config.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"

/* Deeper than any sensible config; also what stops a recursive alias
 * (libyaml lets "&a [*a]" through) from recursing forever. */
#define MAX_DEPTH 64
/* More nodes than any hand-written file has; what stops aliases that
 * expand exponentially (a 430-byte "billion laughs" file, ten lists of ten
 * aliases of the one before, would otherwise become 10^9 nodes). */
#define MAX_NODES (1L << 18)

typedef struct loader {
    yaml_document_t *doc;
    const char *origin;
    int with_lines; /* 0 for overrides: every node gets line 0 */
    rsi_diag *d;
    int failed; /* out of memory or too deep: give up */
    long nodes; /* converted so far, aliases counted each time */
} loader;

static int line_of(const loader *ld, const yaml_node_t *n)
{
    return ld->with_lines ? (int)n->start_mark.line + 1 : 0;
}

static rsi_cfg *convert(loader *ld, yaml_node_t *n, int depth);

static rsi_cfg *convert_scalar(loader *ld, yaml_node_t *n)
{
    rsi_cfg *c = rsi_cfg_new(RSI_CFG_SCALAR, ld->origin, line_of(ld, n));
    if (!c)
        return NULL;
    size_t len = n->data.scalar.length;
    c->text = malloc(len + 1);
    if (!c->text) {
        rsi_cfg_free(c);
        return NULL;
    }
    memcpy(c->text, n->data.scalar.value, len);
    c->text[len] = '\0';
    c->quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                n->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
    return c;
}

static rsi_cfg *convert_list(loader *ld, yaml_node_t *n, int depth)
{
    rsi_cfg *c = rsi_cfg_new(RSI_CFG_LIST, ld->origin, line_of(ld, n));
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         c && it < n->data.sequence.items.top; it++) {
        rsi_cfg *item =
            convert(ld, yaml_document_get_node(ld->doc, *it), depth + 1);
        if (!item || rsi_cfg_append(c, item) < 0) {
            rsi_cfg_free(item);
            rsi_cfg_free(c);
            return NULL;
        }
    }
    return c;
}

static rsi_cfg *convert_map(loader *ld, yaml_node_t *n, int depth)
{
    rsi_cfg *c = rsi_cfg_new(RSI_CFG_MAP, ld->origin, line_of(ld, n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         c && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ld->doc, p->value);
        if (!kn || kn->type != YAML_SCALAR_NODE) {
            rsi_diag_add_at(ld->d, ld->origin, kn ? line_of(ld, kn) : 0,
                            "a mapping key must be a plain name, not a list "
                            "or mapping");
            continue;
        }
        rsi_cfg *key = convert_scalar(ld, kn);
        rsi_cfg *value = key ? convert(ld, vn, depth + 1) : NULL;
        if (!value) {
            rsi_cfg_free(key);
            rsi_cfg_free(c);
            return NULL;
        }
        const rsi_cfg *first = rsi_cfg_key_node(c, key->text);
        if (first)
            rsi_diag_add(ld->d, key,
                         "duplicate key '%s' (first given at line %d); the "
                         "last one would win",
                         key->text, first->line);
        /* rsi_cfg_set names the key after the value; keep the key's own
         * line, which is what messages about the key point at */
        int line = key->line;
        if (rsi_cfg_set(c, key->text, value) < 0) {
            rsi_cfg_free(key);
            rsi_cfg_free(value);
            rsi_cfg_free(c);
            return NULL;
        }
        for (int i = 0; i < c->n; i++)
            if (c->items[i] == value)
                c->keys[i]->line = line;
        rsi_cfg_free(key);
    }
    return c;
}

static rsi_cfg *convert(loader *ld, yaml_node_t *n, int depth)
{
    if (ld->failed)
        return NULL;
    if (n && ++ld->nodes > MAX_NODES) {
        rsi_diag_add_at(ld->d, ld->origin, line_of(ld, n),
                        "more than %ld values (aliases that expand "
                        "exponentially?)",
                        MAX_NODES);
        ld->failed = 1;
        return NULL;
    }
    if (!n || depth > MAX_DEPTH) {
        if (n)
            rsi_diag_add_at(ld->d, ld->origin, line_of(ld, n),
                            "nested more than %d levels deep (a recursive "
                            "alias?)",
                            MAX_DEPTH);
        ld->failed = 1;
        return NULL;
    }
    rsi_cfg *c = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        c = convert_scalar(ld, n);
        break;
    case YAML_SEQUENCE_NODE:
        c = convert_list(ld, n, depth);
        break;
    case YAML_MAPPING_NODE:
        c = convert_map(ld, n, depth);
        break;
    default:
        break;
    }
    if (!c && !ld->failed) {
        rsi_diag_add_at(ld->d, ld->origin, 0, "out of memory");
        ld->failed = 1;
    }
    return c;
}

/* Loads the first document from a ready parser. empty: what an empty
 * stream becomes (a map for files, a null scalar for values). */
static rsi_cfg *load(yaml_parser_t *parser, const char *origin, int with_lines,
                     rsi_cfg_kind empty, rsi_diag *d)
{
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc)) {
        const char *ctx = parser->context ? parser->context : "";
        rsi_diag_add_at(d, origin,
                        with_lines ? (int)parser->problem_mark.line + 1 : 0,
                        "not valid YAML: %s%s%s", ctx, *ctx ? ": " : "",
                        parser->problem ? parser->problem : "parse error");
        return NULL;
    }
    loader ld = {
        .doc = &doc, .origin = origin, .with_lines = with_lines, .d = d};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    rsi_cfg *c = root                   ? convert(&ld, root, 0)
                 : empty == RSI_CFG_MAP ? rsi_cfg_new(RSI_CFG_MAP, origin, 1)
                                        : rsi_cfg_new_scalar("", origin, 0);
    yaml_document_delete(&doc);
    return c;
}

rsi_cfg *rsi_cfg_load_file(const char *path, rsi_diag *d)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rsi_diag_add_at(d, path, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        rsi_diag_add_at(d, path, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_file(&parser, fp);
    rsi_cfg *c = load(&parser, path, 1, RSI_CFG_MAP, d);
    yaml_parser_delete(&parser);
    fclose(fp);
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
