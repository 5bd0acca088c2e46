/* rsicam — a mapping's keys by hash (config_keys.h). */
#include "config_keys.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, no adversary to fear but a big file. */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int rsi_cfg_keys_find(const rsi_cfg_keys *k, const rsi_cfg *map,
                      const char *key)
{
    if (!k->cap)
        return -1;
    for (size_t i = hash(key) & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        int slot = k->slots[i];
        if (!slot)
            return -1;
        if (strcmp(map->keys[slot - 1]->text, key) == 0)
            return slot - 1;
    }
}

static void insert(int *slots, size_t cap, const rsi_cfg *map, int index)
{
    size_t i = hash(map->keys[index]->text) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = index + 1;
}

int rsi_cfg_keys_add(rsi_cfg_keys *k, const rsi_cfg *map, int index)
{
    /* at most half full, so that probes stay short */
    if (2 * (k->n + 1) > k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        int *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < k->cap; i++)
            if (k->slots[i])
                insert(slots, cap, map, k->slots[i] - 1);
        free(k->slots);
        k->slots = slots;
        k->cap = cap;
    }
    insert(k->slots, k->cap, map, index);
    k->n++;
    return 0;
}

void rsi_cfg_keys_free(rsi_cfg_keys *k)
{
    free(k->slots);
    *k = (rsi_cfg_keys){0};
}
