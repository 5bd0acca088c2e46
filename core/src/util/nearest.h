/* Nearest names, for "did you mean" hints.
 *
 * Plugin names, parameter names, layer paths and config keys are all typed
 * by people; when one is unknown the message should name the closest valid
 * one. Distances ignore case and count a swap of two neighbouring
 * characters as one edit (the most common typo).
 */
#ifndef RSICAM_NEAREST_H
#define RSICAM_NEAREST_H

#include <stddef.h>

/* Edit distance between a and b (optimal string alignment, ASCII case
 * folded). */
size_t rsi_edit_distance(const char *a, const char *b);

/* The candidate nearest to word, or NULL when none is close enough to be a
 * plausible typo (or n == 0). NULL candidates are skipped. Ties go to the
 * earliest candidate. */
const char *rsi_nearest(const char *word, const char *const *candidates, int n);

/* The k candidates nearest to word, nearest first, with no closeness
 * threshold (for "valid layers near 'x' are: ..."). Writes at most k
 * pointers into out and returns how many. */
int rsi_nearest_k(const char *word, const char *const *candidates, int n, int k,
                  const char **out);

#endif
