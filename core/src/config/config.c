/* rsicam — configuration trees: building, querying, converting scalars
 * (see config.h). */
#include "config.h"

#include "numbers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

rsi_cfg *rsi_cfg_new(rsi_cfg_kind kind, const char *origin, int line)
{
    rsi_cfg *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = line;
    if (origin && !(n->origin = strdup(origin))) {
        free(n);
        return NULL;
    }
    return n;
}

rsi_cfg *rsi_cfg_new_scalar(const char *text, const char *origin, int line)
{
    rsi_cfg *n = rsi_cfg_new(RSI_CFG_SCALAR, origin, line);
    if (n && !(n->text = strdup(text ? text : ""))) {
        rsi_cfg_free(n);
        return NULL;
    }
    return n;
}

void rsi_cfg_free(rsi_cfg *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        rsi_cfg_free(n->items[i]);
        if (n->keys)
            rsi_cfg_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->text);
    free(n->origin);
    free(n);
}

/* Room for one more item (and key, for maps). */
static int grow(rsi_cfg *n)
{
    if (n->n < n->cap)
        return 0;
    int cap = n->cap ? 2 * n->cap : 4;
    rsi_cfg **items = realloc(n->items, (size_t)cap * sizeof *items);
    if (!items)
        return -1;
    n->items = items;
    if (n->kind == RSI_CFG_MAP) {
        rsi_cfg **keys = realloc(n->keys, (size_t)cap * sizeof *keys);
        if (!keys)
            return -1;
        n->keys = keys;
    }
    n->cap = cap;
    return 0;
}

int rsi_cfg_append(rsi_cfg *list, rsi_cfg *item)
{
    if (!list || list->kind != RSI_CFG_LIST || !item || grow(list) < 0)
        return -1;
    list->items[list->n++] = item;
    return 0;
}

int rsi_cfg_append_pair(rsi_cfg *map, rsi_cfg *key, rsi_cfg *value)
{
    if (!map || map->kind != RSI_CFG_MAP || !key || !value || grow(map) < 0)
        return -1;
    map->keys[map->n] = key;
    map->items[map->n++] = value;
    return 0;
}

static int find_key(const rsi_cfg *map, const char *key)
{
    if (!map || map->kind != RSI_CFG_MAP)
        return -1;
    for (int i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return i;
    return -1;
}

int rsi_cfg_set(rsi_cfg *map, const char *key, rsi_cfg *value)
{
    if (!map || map->kind != RSI_CFG_MAP || !value)
        return -1;
    int i = find_key(map, key);
    if (i >= 0) {
        rsi_cfg_free(map->items[i]);
        map->items[i] = value;
        return 0;
    }
    rsi_cfg *k = rsi_cfg_new_scalar(key, value->origin, value->line);
    if (!k || grow(map) < 0) {
        rsi_cfg_free(k);
        return -1;
    }
    map->keys[map->n] = k;
    map->items[map->n++] = value;
    return 0;
}

void rsi_cfg_remove(rsi_cfg *map, const char *key)
{
    int i = find_key(map, key);
    if (i < 0)
        return;
    rsi_cfg_free(map->keys[i]);
    rsi_cfg_free(map->items[i]);
    memmove(map->keys + i, map->keys + i + 1,
            (size_t)(map->n - i - 1) * sizeof *map->keys);
    memmove(map->items + i, map->items + i + 1,
            (size_t)(map->n - i - 1) * sizeof *map->items);
    map->n--;
}

rsi_cfg *rsi_cfg_get(const rsi_cfg *map, const char *key)
{
    int i = find_key(map, key);
    return i < 0 ? NULL : map->items[i];
}

const rsi_cfg *rsi_cfg_key_node(const rsi_cfg *map, const char *key)
{
    int i = find_key(map, key);
    return i < 0 ? NULL : map->keys[i];
}

rsi_cfg *rsi_cfg_copy(const rsi_cfg *n)
{
    if (!n)
        return NULL;
    rsi_cfg *c = rsi_cfg_new(n->kind, n->origin, n->line);
    if (!c)
        return NULL;
    c->quoted = n->quoted;
    if (n->text && !(c->text = strdup(n->text)))
        goto fail;
    for (int i = 0; i < n->n; i++) {
        if (grow(c) < 0)
            goto fail;
        rsi_cfg *item = rsi_cfg_copy(n->items[i]);
        rsi_cfg *key = n->keys ? rsi_cfg_copy(n->keys[i]) : NULL;
        if (!item || (n->keys && !key)) {
            rsi_cfg_free(item);
            rsi_cfg_free(key);
            goto fail;
        }
        c->items[c->n] = item;
        if (c->keys)
            c->keys[c->n] = key;
        c->n++;
    }
    return c;
fail:
    rsi_cfg_free(c);
    return NULL;
}

int rsi_cfg_is_null(const rsi_cfg *n)
{
    if (!n)
        return 1;
    if (n->kind != RSI_CFG_SCALAR || n->quoted)
        return 0;
    return !*n->text || strcmp(n->text, "~") == 0 ||
           strcasecmp(n->text, "null") == 0;
}

const char *rsi_cfg_kind_name(const rsi_cfg *n)
{
    if (rsi_cfg_is_null(n))
        return "nothing";
    switch (n->kind) {
    case RSI_CFG_SCALAR:
        return "a scalar";
    case RSI_CFG_LIST:
        return "a list";
    case RSI_CFG_MAP:
        return "a mapping";
    }
    return "?";
}

int rsi_cfg_int(const rsi_cfg *n, int64_t *out)
{
    if (!n || n->kind != RSI_CFG_SCALAR)
        return -1;
    return rsi_parse_int(n->text, INT64_MIN, INT64_MAX, out);
}

int rsi_cfg_float(const rsi_cfg *n, double *out)
{
    if (!n || n->kind != RSI_CFG_SCALAR)
        return -1;
    return rsi_parse_double(n->text, out);
}

int rsi_cfg_bool(const rsi_cfg *n, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (!n || n->kind != RSI_CFG_SCALAR)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(n->text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(n->text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

void rsi_cfg_where(const rsi_cfg *n, char *buf, size_t size)
{
    if (!n || !n->origin)
        snprintf(buf, size, "?");
    else if (n->line > 0)
        snprintf(buf, size, "%s:%d", n->origin, n->line);
    else
        snprintf(buf, size, "%s", n->origin);
}
