/* rsicam — a mapping's keys by hash, while the mapping is read, so that
 * finding a duplicate costs the same for the 100,000th key as for the
 * first (a scan made a file of 100k keys take minutes). */
#ifndef RSICAM_CONFIG_KEYS_H
#define RSICAM_CONFIG_KEYS_H

#include <stddef.h>

#include "config.h"

/* Open addressing over indexes into a MAP's keys; zeroed is empty. */
typedef struct rsi_cfg_keys {
    int *slots; /* index + 1; 0: free */
    size_t cap; /* a power of two, or 0 */
    size_t n;
} rsi_cfg_keys;

/* The index in map of key, or -1. */
int rsi_cfg_keys_find(const rsi_cfg_keys *k, const rsi_cfg *map,
                      const char *key);
/* Adds map's key at index (not in k yet). Returns 0 or -1 (memory). */
int rsi_cfg_keys_add(rsi_cfg_keys *k, const rsi_cfg *map, int index);
void rsi_cfg_keys_free(rsi_cfg_keys *k);

#endif
