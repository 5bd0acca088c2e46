/* rsicam — the host table's services that are more than a library call:
 * seeded random numbers and interpolation (plugin.h), and the key that
 * names an image to the random numbers. */
#ifndef RSICAM_HOST_SERVICES_H
#define RSICAM_HOST_SERVICES_H

#include "rsicam/plugin.h"

/* The host table's random(). */
rsi_tensor *rsi_host_random(const rsi_context *ctx, rsi_random_kind kind,
                            uint64_t seed, const double *alpha, int64_t n);
/* The host table's tensor_lerp(). */
rsi_tensor *rsi_host_lerp(const rsi_tensor *a, const rsi_tensor *b,
                          const double *alpha, int64_t n);
/* A 64-bit hash of x's float32 values (wherever x lives): the same image
 * gets the same key on every device. 0 with an error pending on failure. */
uint64_t rsi_image_key(const rsi_tensor *x);

#endif
