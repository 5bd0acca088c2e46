/* rsicam — a growable list of owned strings. */
#ifndef RSICAM_STRVEC_H
#define RSICAM_STRVEC_H

typedef struct rsi_strvec {
    char **items;
    int n, cap;
} rsi_strvec;

/* Appends a copy of str: 0, or -1 out of memory (no error set). */
int rsi_strvec_push(rsi_strvec *s, const char *str);
/* Whether str is in s. */
int rsi_strvec_has(const rsi_strvec *s, const char *str);
/* Frees the strings and the list; s may be reused after. */
void rsi_strvec_free(rsi_strvec *s);

#endif
