/* libFuzzer target: the experiment-file reader (config.h: YAML through
 * libyaml into rsi_cfg trees, problems collected in rsi_diag).
 *
 * Each input is read the two ways the program reads YAML: as a whole file
 * (rsi_cfg_load_file, from a temporary file) and as a command-line value
 * (rsi_cfg_parse_value, the input up to its first NUL). Every tree is then
 * walked the way the experiment code does: copied, every scalar converted,
 * every node located, every problem formatted, and everything freed (LSan
 * reports what is not).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/rsicam-fuzz-config.%ld.yaml",
             dir && *dir ? dir : "/tmp", (long)getpid());
    return 0;
}

static void walk(const rsi_cfg *n, int depth)
{
    if (!n)
        return;
    if (depth > 1000) /* the reader promises to stop at 64 */
        abort();
    char where[512];
    rsi_cfg_where(n, where, sizeof where);
    (void)rsi_cfg_kind_name(n);
    (void)rsi_cfg_is_null(n);
    if (n->kind == RSI_CFG_SCALAR) {
        int64_t i;
        double f;
        int b;
        if (!n->text)
            abort();
        (void)rsi_cfg_int(n, &i);
        (void)rsi_cfg_float(n, &f);
        (void)rsi_cfg_bool(n, &b);
        return;
    }
    for (int k = 0; k < n->n; k++) {
        if (n->kind == RSI_CFG_MAP) {
            if (!n->keys[k] || !n->keys[k]->text ||
                rsi_cfg_get(n, n->keys[k]->text) == NULL)
                abort();
            walk(n->keys[k], depth + 1);
        }
        walk(n->items[k], depth + 1);
    }
}

static void use(rsi_cfg *c, rsi_diag *d)
{
    walk(c, 0);
    rsi_cfg *copy = rsi_cfg_copy(c);
    walk(copy, 0);
    rsi_cfg_free(copy);
    rsi_cfg_free(c);
    for (int i = 0; i < d->n; i++)
        free(rsi_diag_format(d, i));
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        rsi_diag_print(d, "fuzz: ", null);
        fclose(null);
    }
    rsi_diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        LLVMFuzzerInitialize(NULL, NULL);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        abort();
    if (size && fwrite(data, 1, size, fp) != size)
        abort();
    fclose(fp);
    rsi_diag d = {0};
    use(rsi_cfg_load_file(path, &d), &d);
    unlink(path);

    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    rsi_diag v = {0};
    use(rsi_cfg_parse_value(text, "override 'fuzz'", &v), &v);
    free(text);
    return 0;
}
