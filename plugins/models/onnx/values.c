/* Values by name (values.h): open addressing over FNV-1a hashes. */
#include "values.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

ox_value *vm_find(const value_map *vm, const char *name)
{
    if (!vm->cap)
        return NULL;
    for (size_t i = hash(name) & (vm->cap - 1);; i = (i + 1) & (vm->cap - 1)) {
        if (!vm->slots[i].name)
            return NULL;
        if (!strcmp(vm->slots[i].name, name))
            return &vm->slots[i];
    }
}

static int grow(value_map *vm)
{
    const size_t cap = vm->cap ? vm->cap * 2 : 256;
    ox_value *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 0; k < vm->cap; k++) {
        if (!vm->slots[k].name)
            continue;
        size_t i = hash(vm->slots[k].name) & (cap - 1);
        while (slots[i].name)
            i = (i + 1) & (cap - 1);
        slots[i] = vm->slots[k];
    }
    free(vm->slots);
    vm->slots = slots;
    vm->cap = cap;
    return 0;
}

ox_value *vm_put(value_map *vm, const char *name)
{
    ox_value *v = vm_find(vm, name);
    if (v)
        return v;
    if ((vm->count + 1) * 2 > vm->cap && grow(vm) < 0)
        return NULL;
    size_t i = hash(name) & (vm->cap - 1);
    while (vm->slots[i].name)
        i = (i + 1) & (vm->cap - 1);
    v = &vm->slots[i];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->var = -1;
    vm->count++;
    return v;
}

void vm_free(value_map *vm, const rsi_host_api *host)
{
    for (size_t k = 0; k < vm->cap; k++)
        if (vm->slots[k].buffer)
            host->tensor_free(vm->slots[k].buffer);
    free(vm->slots);
    memset(vm, 0, sizeof *vm);
}
