/* Looking up an operator in the families' tables (ops.h). */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const op_entry *const tables[] = {ox_ops_window, ox_ops_nn,
                                         ox_ops_tensor, ox_ops_shape};
enum { N_TABLES = sizeof tables / sizeof tables[0] };

const op_entry *ox_find_op(const char *op_type)
{
    for (int t = 0; t < N_TABLES; t++)
        for (const op_entry *e = tables[t]; e->op_type; e++)
            if (!strcmp(e->op_type, op_type))
                return e;
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *ox_supported_ops(void)
{
    static char text[2048];
    if (text[0])
        return text;
    const char *names[128];
    size_t n = 0;
    names[n++] = "Constant"; /* handled by the translator itself */
    for (int t = 0; t < N_TABLES; t++)
        for (const op_entry *e = tables[t]; e->op_type && n < 128; e++)
            names[n++] = e->op_type;
    qsort(names, n, sizeof *names, by_name);
    size_t len = 0;
    for (size_t k = 0; k < n && len < sizeof text; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s",
                                k ? ", " : "", names[k]);
    return text;
}
