/* Edit distances for "did you mean" hints (see nearest.h). */
#include "nearest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int fold(char c)
{
    return tolower((unsigned char)c);
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Three rolling rows: the transposition step looks two rows back. */
size_t rsi_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la == 0 || lb == 0)
        return la + lb;
    size_t *rows = malloc(3 * (lb + 1) * sizeof *rows);
    if (!rows)
        return la > lb ? la : lb; /* an upper bound: still a usable answer */
    size_t *two = rows, *prev = rows + lb + 1, *cur = rows + 2 * (lb + 1);
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = fold(a[i - 1]) != fold(b[j - 1]);
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && two[j - 2] + 1 < cur[j])
                cur[j] = two[j - 2] + 1;
        }
        size_t *t = two;
        two = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(rows);
    return d;
}

/* Close enough to be a typo: a third of the word, but at least 2 edits
 * (short names like "zer" for "zero" still count). A word that is a
 * prefix of the candidate ("lin" for "linear") counts too. */
static int plausible(const char *word, const char *cand, size_t d)
{
    size_t len = strlen(word);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    if (d <= limit && d < strlen(cand))
        return 1;
    if (len >= 2 && strlen(cand) > len) {
        for (size_t i = 0; i < len; i++)
            if (fold(word[i]) != fold(cand[i]))
                return 0;
        return 1;
    }
    return 0;
}

const char *rsi_nearest(const char *word, const char *const *candidates, int n)
{
    if (!word || !candidates)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = rsi_edit_distance(word, candidates[i]);
        if (plausible(word, candidates[i], d) && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

int rsi_nearest_k(const char *word, const char *const *candidates, int n, int k,
                  const char **out)
{
    if (!word || !candidates || k <= 0)
        return 0;
    size_t *dist = malloc((size_t)k * sizeof *dist);
    if (!dist)
        return 0;
    int found = 0;
    /* Insertion into a sorted top-k: k is small (a handful of hints). */
    for (int i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = rsi_edit_distance(word, candidates[i]);
        int pos = found;
        while (pos > 0 && dist[pos - 1] > d)
            pos--;
        if (pos >= k)
            continue;
        int last = found < k ? found : k - 1;
        for (int j = last; j > pos; j--) {
            dist[j] = dist[j - 1];
            out[j] = out[j - 1];
        }
        dist[pos] = d;
        out[pos] = candidates[i];
        if (found < k)
            found++;
    }
    free(dist);
    return found;
}
