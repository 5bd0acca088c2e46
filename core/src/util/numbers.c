/* rsicam — checked number parsing (numbers.h). */
#include "numbers.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int rsi_parse_int(const char *text, int64_t min, int64_t max, int64_t *out)
{
    /* strtoll skips leading blanks and takes "" as 0: refuse both */
    if (!text || !*text || isspace((unsigned char)*text))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int rsi_parse_double(const char *text, double *out)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    /* ERANGE on underflow still gives a usable (tiny) number; overflow
     * gives inf, which isfinite() refuses */
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

void rsi_format_shortest(double d, char *buf, size_t size)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
}
