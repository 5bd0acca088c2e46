/* libFuzzer target: the image loading path, rsi_image_read(), on a file
 * holding the fuzz input (the same path `rsicam explain` takes: the checks
 * on the file, libvips' lazy open, the pixel limit, conversion to RGB, the
 * resize and the decode).
 *
 * Each input is read twice: at its own size and resized to 7x5, as the CLI
 * does for a model's input size. The pixel limit is lowered to 2^20 so that
 * a header claiming a huge image is refused quickly (as in the real
 * program, only with a smaller number) instead of running the fuzzer out of
 * memory. libvips' operation cache is switched off: every iteration
 * rewrites the same file name, and the cache would otherwise hand back an
 * earlier image.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <vips/vips.h>

#include "image.h"
#include "rsicam/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (rsi_vips_init() != 0)
        abort();
    vips_cache_set_max(0);
    vips_concurrency_set(1);
    rsi_image_set_max_pixels((int64_t)1 << 20);
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/rsicam-fuzz-image.%ld",
             dir && *dir ? dir : "/tmp", (long)getpid());
    return 0;
}

static void check(int rc, const rsi_image *img, int w, int h)
{
    if (rc == 0) {
        if (!img->data || img->width < 1 || img->height < 1 ||
            (w > 0 && (img->width != w || img->height != h)) ||
            rsi_error_pending())
            abort();
        volatile float sink = 0;
        size_t n = (size_t)img->width * img->height * 3;
        for (size_t i = 0; i < n; i++) {
            float v = img->data[i];
            if (!(v >= 0.0f && v <= 1.0f)) /* also NaN */
                abort();
            sink += v;
        }
        (void)sink;
    } else if (rc != -1 || !rsi_error_pending() || img->data) {
        abort();
    }
    rsi_error_clear();
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
    static const int sizes[2][2] = {{0, 0}, {7, 5}};
    for (int k = 0; k < 2; k++) {
        rsi_image img = {0};
        int rc = rsi_image_read(path, sizes[k][0], sizes[k][1], &img);
        check(rc, &img, sizes[k][0], sizes[k][1]);
        rsi_image_release(&img);
    }
    unlink(path);
    return 0;
}
