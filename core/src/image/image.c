/* rsicam — image reading and PNG writing through libvips. */

#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "fileio.h"
#include "plain_pnm.h"
#include "rsicam/error.h"

/* ---- libvips start-up -----------------------------------------------------
 */

/* The name libvips is started under, and guesses its install prefix from. */
static const char vips_program[] = "rsicam";

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_init_failed;
static char vips_init_message[256];

static void drop_log(const gchar *domain, GLogLevelFlags level,
                     const gchar *message, gpointer user)
{
    (void)domain, (void)level, (void)message, (void)user;
}

static void vips_start(void)
{
    /* libvips warns on stderr while it decodes ("error in tile 0 x 16",
     * "not enough data", ...), several lines per bad file, and then fails
     * the read, which is reported as one line: drop the warnings, as
     * libvips itself does when VIPS_WARNING is set. */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_log, NULL);
    if (VIPS_INIT(vips_program) != 0) {
        vips_init_failed = 1;
        snprintf(vips_init_message, sizeof vips_init_message, "%s",
                 vips_error_buffer());
        vips_init_message[strcspn(vips_init_message, "\n")] = '\0';
        vips_error_clear();
    }
}

/* Starts libvips, or waits for the thread that does: the ahead thread's
 * work, and at exit, so that none is left half done. */
static void vips_start_once(void)
{
    pthread_once(&vips_once, vips_start);
}

static void *vips_start_thread(void *unused)
{
    (void)unused;
    vips_start_once();
    return NULL;
}

void rsi_vips_init_ahead(void)
{
    static atomic_flag started = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&started))
        return;
    /* libvips' start-up sets VIPSHOME to its guess where it is unset: a
     * write to the environment, which must not happen on the new thread
     * while this one reads it (getenv walks the array that setenv
     * replaces). The same guess here, first, leaves it nothing to set. */
    vips_guess_prefix(vips_program, "VIPSHOME");
    pthread_t t;
    if (atexit(vips_start_once) == 0 &&
        pthread_create(&t, NULL, vips_start_thread, NULL) == 0)
        pthread_detach(t);
    /* else rsi_vips_init starts it when first needed, as without this */
}

int rsi_vips_init(void)
{
    vips_start_once();
    if (vips_init_failed) {
        rsi_error_class_set(RSI_ERR_INTERNAL, "cannot start libvips: %s",
                            vips_init_message);
        return -1;
    }
    return 0;
}

/* ---- Pixel limit ------------------------------------------------------------
 */

static _Atomic int64_t max_pixels = RSI_IMAGE_DEFAULT_MAX_PIXELS;

int64_t rsi_image_set_max_pixels(int64_t n)
{
    return atomic_exchange(&max_pixels,
                           n > 0 ? n : RSI_IMAGE_DEFAULT_MAX_PIXELS);
}

int64_t rsi_image_max_pixels(void)
{
    return atomic_load(&max_pixels);
}

/* ---- Helpers
 * ------------------------------------------------------------------ */

void rsi_image_release(rsi_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
    img->width = img->height = 0;
}

uint8_t rsi_unit_to_u8(float v)
{
    if (!(v > 0.0f)) /* also NaN */
        return 0;
    if (v >= 1.0f)
        return 255;
    return (uint8_t)(v * 255.0f + 0.5f);
}

void rsi_image_to_rgb8(const rsi_image *img, uint8_t *out)
{
    size_t n = (size_t)img->width * (size_t)img->height * 3;
    for (size_t i = 0; i < n; i++)
        out[i] = rsi_unit_to_u8(img->data[i]);
}

/* Reports the pending libvips error as one line, "WHAT 'PATH': CONTEXT
 * (libvips' words)", and clears it. The first line of libvips' buffer is
 * the innermost, most specific one. */
static void vips_failure(rsi_error_class cls, const char *what,
                         const char *path, const char *context)
{
    const char *buf = vips_error_buffer();
    int len = (int)strcspn(buf, "\n");
    if (len == 0)
        rsi_error_class_set(cls, "%s '%s': %s", what, path,
                            *context ? context : "libvips failed");
    else if (!*context)
        rsi_error_class_set(cls, "%s '%s': %.*s", what, path, len, buf);
    else
        rsi_error_class_set(cls, "%s '%s': %s (%.*s)", what, path, context, len,
                            buf);
    vips_error_clear();
}

/* Plain messages for the failures a user makes most, before libvips gives
 * its own wordier ones. */
static int check_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        rsi_error_class_set(RSI_ERR_INPUT, "image '%s': %s", path,
                            errno == ENOENT ? "no such file" : strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        rsi_error_class_set(RSI_ERR_INPUT, "image '%s': is a directory", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        rsi_error_class_set(RSI_ERR_INPUT, "image '%s': not a regular file",
                            path);
        return -1;
    }
    if (st.st_size == 0) {
        rsi_error_class_set(RSI_ERR_INPUT, "image '%s': empty file (0 bytes)",
                            path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rsi_error_class_set(RSI_ERR_INPUT, "image '%s': %s", path,
                            strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* Opens the file lazily: only the header is read here. Decoding errors
 * (truncation, corruption) must fail the read rather than give a partly
 * grey image, hence fail_on. */
static VipsImage *open_lazily(const char *path)
{
    size_t len = strlen(path);
    if (len > 0 && path[len - 1] == ']') {
        /* vips_image_new_from_file() would take a trailing "[...]" for
         * load options; a source is opened by its plain name. */
        VipsSource *src = vips_source_new_from_file(path);
        if (!src)
            return NULL;
        VipsImage *im = vips_image_new_from_source(
            src, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
            VIPS_FAIL_ON_ERROR, NULL);
        g_object_unref(src);
        return im;
    }
    return vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_ERROR, NULL);
}

/* Any loaded image -> 3-band float RGB in [0, 1]. t: scratch images owned by
 * the caller's context object. */
static int to_rgb_unit(VipsImage *in, VipsImage **t, VipsImage **out)
{
    /* A loader's interpretation can be wrong (16-bit data tagged sRGB);
     * guess_interpretation makes it consistent with the pixel format. */
    VipsInterpretation interp = vips_image_guess_interpretation(in);
    int deep = interp == VIPS_INTERPRETATION_RGB16 ||
               interp == VIPS_INTERPRETATION_GREY16;
    /* 16-bit stays 16-bit (RGB16), so no precision is lost on the way. */
    VipsInterpretation target =
        deep ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
    double max = deep ? 65535.0 : 255.0;
    if (vips_colourspace(in, &t[0], target, "source_space", interp, NULL) ||
        vips_cast(t[0], &t[1], deep ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR,
                  NULL))
        return -1;
    VipsImage *rgb = t[1];
    if (vips_image_hasalpha(rgb)) {
        /* background defaults to black */
        if (vips_flatten(rgb, &t[2], "max_alpha", max, NULL))
            return -1;
        rgb = t[2];
    }
    if (vips_extract_band(rgb, &t[3], 0, "n", 3, NULL) ||
        vips_cast(t[3], &t[4], VIPS_FORMAT_FLOAT, NULL) ||
        vips_linear1(t[4], &t[5], 1.0 / max, 0.0, NULL))
        return -1;
    *out = t[5];
    return 0;
}

/* Resizes to exactly w x h (vips_resize rounds its output size, so a
 * one-pixel miss is trimmed or padded by edge copy). */
static int resize_exact(VipsImage *in, int w, int h, VipsImage **t,
                        VipsImage **out)
{
    double hs = (double)w / in->Xsize, vs = (double)h / in->Ysize;
    if (vips_resize(in, &t[0], hs, "vscale", vs, "kernel", VIPS_KERNEL_LINEAR,
                    NULL))
        return -1;
    if (t[0]->Xsize == w && t[0]->Ysize == h) {
        *out = t[0];
        return 0;
    }
    if (vips_embed(t[0], &t[1], 0, 0, w, h, "extend", VIPS_EXTEND_COPY, NULL))
        return -1;
    *out = t[1];
    return 0;
}

/* in (borrowed) -> out: 3-band float RGB in [0, 1] (to_unit: converted
 * as a loaded file is; else in already is that), resized to width x
 * height when both are > 0, then decoded. Errors: "image 'PATH': ...". */
static int convert_and_size(VipsImage *in, int to_unit, int width, int height,
                            const char *path, rsi_image *out)
{
    /* Every intermediate hangs off ctx and goes with it. */
    VipsObject *ctx = VIPS_OBJECT(vips_image_new());
    VipsImage **t = (VipsImage **)vips_object_local_array(ctx, 8);
    VipsImage *rgb, *sized;
    void *mem = NULL;
    size_t size = 0;
    int rc = -1;
    if (!to_unit) {
        rgb = in; /* float pixels, already in [0, 1] */
    } else if (to_rgb_unit(in, t, &rgb) != 0) {
        vips_failure(RSI_ERR_INPUT, "image", path, "cannot convert to RGB");
        goto done;
    }
    sized = rgb;
    if (width > 0 && height > 0 &&
        (width != rgb->Xsize || height != rgb->Ysize) &&
        resize_exact(rgb, width, height, t + 6, &sized) != 0) {
        vips_failure(RSI_ERR_INPUT, "image", path, "cannot resize");
        goto done;
    }
    /* Decoding happens here, so this is where truncation shows up;
     * libvips' reason ("libpng read error") is vague, hence the context. */
    mem = vips_image_write_to_memory(sized, &size);
    if (!mem) {
        vips_failure(RSI_ERR_INPUT, "image", path,
                     "truncated or corrupt image data");
        goto done;
    }
    size_t n = (size_t)sized->Xsize * sized->Ysize * 3;
    if (size != n * sizeof(float)) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "image '%s': unexpected decoded size", path);
        goto done;
    }
    float *data = malloc(n * sizeof(float));
    if (!data) {
        rsi_error_class_set(RSI_ERR_INPUT, "image '%s': out of memory", path);
        goto done;
    }
    const float *src = mem;
    for (size_t i = 0; i < n; i++) {
        float v = src[i];
        data[i] = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
    }
    out->width = sized->Xsize;
    out->height = sized->Ysize;
    out->data = data;
    rc = 0;
done:
    g_free(mem);
    g_object_unref(ctx);
    return rc;
}

/* Whether libvips' PBM/PGM/PPM/PFM loader opened in (as "ppmload" or
 * "ppmload_source"): only such a file is opened again, to count a plain
 * one's samples (plain_pnm.h). */
static int loaded_as_pnm(VipsImage *in)
{
    const char *loader = NULL;
    return !vips_image_get_string(in, "vips-loader", &loader) && loader &&
           strncmp(loader, "ppmload", 7) == 0;
}

int rsi_image_read(const char *path, int width, int height, rsi_image *out)
{
    if (rsi_vips_init() != 0 || check_readable(path) != 0)
        return -1;
    VipsImage *in = open_lazily(path);
    size_t len = strlen(path);
    if (!in && len && path[len - 1] != ']' && !vips_foreign_find_load(path)) {
        /* libvips would say 'VipsForeignLoad: "PATH" is not a known file
         * format', naming the file a second time (a "[...]" suffix would be
         * taken for load options here, see open_lazily) */
        vips_error_clear();
        rsi_error_class_set(RSI_ERR_INPUT,
                            "image '%s': not an image (no known format)", path);
        return -1;
    }
    if (!in) {
        vips_failure(RSI_ERR_INPUT, "image", path, "");
        return -1;
    }
    int64_t pixels = (int64_t)in->Xsize * in->Ysize;
    if (pixels > rsi_image_max_pixels()) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "image '%s': %dx%d is too large (%lld pixels, "
                            "limit %lld)",
                            path, in->Xsize, in->Ysize, (long long)pixels,
                            (long long)rsi_image_max_pixels());
        g_object_unref(in);
        return -1;
    }
    const int64_t need = pixels * in->Bands;
    int kind = 0;
    const int64_t held =
        loaded_as_pnm(in) ? rsi_plain_pnm_samples(path, need, &kind) : -1;
    if (held >= 0 && held < need) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "image '%s': truncated or corrupt image data "
                            "(%lld of the %lld samples its header names%s)",
                            path, (long long)held, (long long)need,
                            kind == 1 ? "; a plain PBM's bits must be "
                                        "separated by spaces"
                                      : "");
        g_object_unref(in);
        return -1;
    }

    int rc = convert_and_size(in, 1, width, height, path, out);
    g_object_unref(in);
    return rc;
}

int rsi_image_from_pixels(const void *pixels, int is_float, int src_width,
                          int src_height, int width, int height,
                          const char *name, rsi_image *out)
{
    if (src_width <= 0 || src_height <= 0 ||
        (int64_t)src_width * src_height > rsi_image_max_pixels()) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "image '%s': %dx%d is not a usable size (limit "
                            "%lld pixels)",
                            name, src_width, src_height,
                            (long long)rsi_image_max_pixels());
        return -1;
    }
    if (rsi_vips_init() != 0)
        return -1;
    const size_t n = (size_t)src_width * src_height * 3;
    VipsImage *raw = vips_image_new_from_memory(
        pixels, n * (is_float ? sizeof(float) : 1), src_width, src_height, 3,
        is_float ? VIPS_FORMAT_FLOAT : VIPS_FORMAT_UCHAR);
    /* tagged sRGB, as a loader tags an 8-bit RGB file, so that 8-bit
     * pixels take exactly a file's conversion */
    VipsImage *in = NULL;
    if (!raw || vips_copy(raw, &in, "interpretation", VIPS_INTERPRETATION_sRGB,
                          NULL) != 0) {
        vips_failure(RSI_ERR_INPUT, "image", name, "cannot wrap the pixels");
        if (raw)
            g_object_unref(raw);
        return -1;
    }
    g_object_unref(raw);
    int rc = convert_and_size(in, !is_float, width, height, name, out);
    g_object_unref(in);
    return rc;
}

int rsi_image_write_png(const char *path, const uint8_t *rgb, int width,
                        int height)
{
    if (width <= 0 || height <= 0 || !rgb) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "cannot write '%s': bad image %dx%d", path, width,
                            height);
        return -1;
    }
    if (rsi_vips_init() != 0)
        return -1;
    VipsImage *im = vips_image_new_from_memory(
        rgb, (size_t)width * height * 3, width, height, 3, VIPS_FORMAT_UCHAR);
    if (!im) {
        vips_failure(RSI_ERR_OUTPUT, "cannot write", path, "");
        return -1;
    }
    void *buf = NULL;
    size_t len = 0;
    /* Encode in memory, then write atomically: a failed or interrupted
     * write never leaves a partial PNG. */
    int rc = vips_pngsave_buffer(im, &buf, &len, NULL);
    g_object_unref(im);
    if (rc != 0) {
        vips_failure(RSI_ERR_OUTPUT, "cannot write", path,
                     "PNG encoding failed");
        return -1;
    }
    rc = rsi_write_file_atomic(path, buf, len);
    g_free(buf);
    return rc;
}
