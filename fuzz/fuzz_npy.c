/* libFuzzer target: the .npy parser (rsi_npy_parse_f32) on arbitrary bytes.
 *
 * Besides "no crash, no out-of-bounds access" (ASan/UBSan), it checks the
 * parser's promises: on success the shape has 0..RSI_MAX_DIMS non-negative
 * dimensions whose product is the element count, every element of the
 * returned buffer is readable, and a message is pending exactly on failure.
 */
#include <stdint.h>
#include <stdlib.h>

#include "npy.h"
#include "rsicam/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *out = NULL;
    int64_t shape[RSI_MAX_DIMS];
    int ndim = -1;
    int rc = rsi_npy_parse_f32(data, size, "fuzz.npy", &out, shape, &ndim);
    if (rc == 0) {
        if (!out || ndim < 0 || ndim > RSI_MAX_DIMS || rsi_error_pending())
            abort();
        /* the element count, as the parser promises it: 0 when any
         * dimension is 0 (whatever the others), else at most the limit */
        int64_t count = 1;
        for (int d = 0; d < ndim; d++) {
            if (shape[d] < 0 || shape[d] > RSI_NPY_MAX_ELEMENTS)
                abort();
            if (shape[d] == 0)
                count = 0;
        }
        for (int d = 0; d < ndim && count != 0; d++)
            if ((count *= shape[d]) > RSI_NPY_MAX_ELEMENTS)
                abort();
        volatile float sink = 0;
        for (int64_t i = 0; i < count; i++)
            sink += out[i]; /* ASan: the buffer really holds count floats */
        (void)sink;
        free(out);
    } else if (rc != -1 || !rsi_error_pending() || out) {
        abort();
    }
    rsi_error_clear();
    return 0;
}
