/* rsicam — a growable list of owned strings (strvec.h). */
#include "strvec.h"

#include <stdlib.h>
#include <string.h>

int rsi_strvec_push(rsi_strvec *s, const char *str)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        char **items = realloc(s->items, (size_t)cap * sizeof *items);
        if (!items)
            return -1;
        s->items = items;
        s->cap = cap;
    }
    char *copy = strdup(str);
    if (!copy)
        return -1;
    s->items[s->n++] = copy;
    return 0;
}

int rsi_strvec_has(const rsi_strvec *s, const char *str)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->items[i], str) == 0)
            return 1;
    return 0;
}

void rsi_strvec_free(rsi_strvec *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
    *s = (rsi_strvec){0};
}
