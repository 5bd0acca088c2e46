/* rsicam — NumPy .npy files (heatmaps out, arrays in).
 *
 * Writing: float32 little-endian, C order, format 1.0 (2.0 only if the
 * header would not fit, which cannot happen with RSI_MAX_DIMS dimensions).
 * Written atomically (fileio.h).
 *
 * Reading: formats 1.0, 2.0 and 3.0; dtypes '<f4' and '<f8' (the latter
 * converted to float), C order only, at most RSI_MAX_DIMS dimensions and
 * 2^31 elements. Anything else — bad magic, a malformed header, Fortran
 * order, big-endian data, another dtype, truncated or trailing data — fails
 * with an RSI_ERR_INPUT message naming the file. The parser is meant to
 * survive arbitrary bytes: it never reads outside the buffer and checks
 * every size computation for overflow.
 */
#ifndef RSICAM_NPY_H
#define RSICAM_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "rsicam/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest element count the reader accepts. */
#define RSI_NPY_MAX_ELEMENTS ((int64_t)1 << 31)

/* Writes data (prod(shape) floats, C order). ndim 0..RSI_MAX_DIMS. */
int rsi_npy_write_f32(const char *path, const float *data, const int64_t *shape,
                      int ndim);

/* Reads a file. shape must have room for RSI_MAX_DIMS entries; *data is
 * malloc'd (never NULL on success, even for zero elements) and belongs to
 * the caller. Outputs are untouched on failure. */
int rsi_npy_read_f32(const char *path, float **data, int64_t *shape, int *ndim);

/* The in-memory parser behind rsi_npy_read_f32 (and the fuzz target): buf
 * holds a whole .npy file of n bytes; name_for_errors names it in messages. */
int rsi_npy_parse_f32(const unsigned char *buf, size_t n,
                      const char *name_for_errors, float **data, int64_t *shape,
                      int *ndim);

#ifdef __cplusplus
}
#endif
#endif
