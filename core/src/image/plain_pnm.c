/* rsicam — plain (ASCII) PBM, PGM and PPM files: their samples counted
 * (plain_pnm.h says why). */

#include "plain_pnm.h"

#include <stdio.h>

/* Netpbm's whitespace; not isspace(), which follows the locale. */
static int pnm_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

int64_t rsi_plain_pnm_samples(const char *path, int64_t need, int *kind)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int64_t samples = -1;
    const int p = getc(f), digit = getc(f);
    if (p == 'P' && digit >= '1' && digit <= '3') {
        *kind = digit - '0';
        /* width and height, and a PGM's or PPM's maxval: tokens too */
        const int64_t header = *kind == 1 ? 2 : 3;
        int64_t tokens = 0;
        int in_token = 0, c;
        while (tokens < header + need && (c = getc(f)) != EOF) {
            if (c == '#') {
                while (c != EOF && c != '\n' && c != '\r')
                    c = getc(f);
                in_token = 0;
            } else if (pnm_space(c)) {
                in_token = 0;
            } else if (!in_token) {
                in_token = 1;
                tokens++;
            }
        }
        samples = tokens > header ? tokens - header : 0;
    }
    fclose(f);
    return samples;
}
