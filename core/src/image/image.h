/* rsicam — images as plain host buffers, read and written through libvips.
 *
 * An rsi_image is 3-band RGB, interleaved (HWC), float in [0, 1]: whatever
 * the file held (grey, alpha, 16-bit, CMYK, ...) is converted to that, so
 * the rest of the code never sees a file format.
 */
#ifndef RSICAM_IMAGE_H
#define RSICAM_IMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rsi_image {
    int width, height;
    float *data; /* width * height * 3, malloc'd */
} rsi_image;

/* Default pixel limit of rsi_image_read (width * height). */
#define RSI_IMAGE_DEFAULT_MAX_PIXELS ((int64_t)100000000)

/* Frees data and zeroes img; NULL and released images are fine. */
void rsi_image_release(rsi_image *img);

/* Starts libvips once per process (idempotent, thread-safe). Every function
 * here calls it; call it directly only to use libvips elsewhere. */
int rsi_vips_init(void);

/* Starts libvips on a thread of its own (~30 ms, most of it loading its
 * format modules), for a caller with other work to do before its first
 * image, such as loading a model; rsi_vips_init, and so every function
 * here, waits for it to finish. Its thread reads the environment, which
 * must not change meanwhile: call it after rsi_torch_set_threads. It
 * writes none (the one variable libvips' start-up sets, VIPSHOME, is set
 * here first, on the caller's thread), so the caller may read it. And
 * after plugin discovery, which forks (plugin_scan.c): a fork copies the
 * locks this thread holds, such as the dynamic loader's while it loads
 * the modules, and the copy waits on them for ever. */
void rsi_vips_init_ahead(void);

/* Sets the largest width * height rsi_image_read accepts (n <= 0 restores
 * the default); the check happens before any pixel is decoded. Returns the
 * previous limit. */
int64_t rsi_image_set_max_pixels(int64_t n);
int64_t rsi_image_max_pixels(void);

/* Reads any format libvips reads (first page; EXIF orientation is not
 * applied, as PIL does not). With width and height both > 0 the image is
 * resized to exactly width x height, bilinearly (antialiased when
 * shrinking); otherwise it keeps its own size. Grey is replicated to RGB, alpha
 * is flattened onto black, 16-bit is scaled to [0, 1], CMYK is converted to
 * sRGB. A missing, unreadable, empty, truncated or corrupt file fails with an
 * RSI_ERR_INPUT message "image 'PATH': reason" and no partial image. */
int rsi_image_read(const char *path, int width, int height, rsi_image *out);

/* The same for pixels in memory: src_height x src_width x 3, interleaved
 * RGB, uint8 (converted exactly as an 8-bit RGB file's pixels are) or,
 * with is_float, float in [0, 1]; resized as rsi_image_read resizes.
 * name stands for the path in errors ("image 'NAME': ..."). */
int rsi_image_from_pixels(const void *pixels, int is_float, int src_width,
                          int src_height, int width, int height,
                          const char *name, rsi_image *out);
/* Writes an 8-bit sRGB PNG (rgb: height * width * 3 bytes) atomically. */
int rsi_image_write_png(const char *path, const uint8_t *rgb, int width,
                        int height);

/* round(clamp(v, 0, 1) * 255) per value (NaN gives 0); out holds
 * width * height * 3 bytes. */
void rsi_image_to_rgb8(const rsi_image *img, uint8_t *out);

/* The same for one value. */
uint8_t rsi_unit_to_u8(float v);

#ifdef __cplusplus
}
#endif
#endif
