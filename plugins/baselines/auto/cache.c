/* The auto baseline's cache key and file (auto.h).
 *
 * The optimised baseline depends on the model, its preprocessing, the
 * options and the initial baseline b0, and on nothing else: the image
 * matters only through b0. So the key hashes (FNV-1a, 64 bits):
 *   the model file's real path, size and modification time (seconds and
 *   nanoseconds), the input size, mean and std, every option, the init
 *   spec, and b0 itself (shape and float32 bytes).
 * Hashing b0 rather than the image keeps the entry shared across images
 * when b0 does not depend on the image (zero, uniform) and makes it
 * per image exactly when it does (blur, mean): no list of which baselines
 * look at the image is needed. The bytes of doubles and integers are
 * hashed as stored, so a cache is good for the machine that wrote it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auto.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define CACHE_SUBDIR "rsicam-cache"

static void fnv(uint64_t *hash, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *hash ^= p[i];
        *hash *= FNV_PRIME;
    }
}

static void fnv_str(uint64_t *hash, const char *s)
{
    fnv(hash, s, strlen(s) + 1); /* the NUL separates fields */
}

/* Adds the model file's identity; -1 when it cannot be named or read. */
static int hash_model(const rsi_context *ctx, uint64_t *hash)
{
    const rsi_host_api *h = ctx->host;
    if (!RSI_HOST_HAS(h, model_path) || !RSI_HOST_HAS(h, npy_write))
        return -1;
    const char *path = h->model_path(ctx->model);
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return -1;
    char real[PATH_MAX];
    fnv_str(hash, realpath(path, real) ? real : path);
    int64_t facts[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                        (int64_t)st.st_mtim.tv_nsec};
    fnv(hash, facts, sizeof facts);
    const rsi_model_info *info = ctx->info;
    fnv(hash, &info->input_h, sizeof info->input_h);
    fnv(hash, &info->input_w, sizeof info->input_w);
    fnv(hash, info->mean, sizeof info->mean);
    fnv(hash, info->std, sizeof info->std);
    return 0;
}

static int hash_tensor(const rsi_host_api *h, const rsi_tensor *t,
                       uint64_t *hash)
{
    int nd = h->tensor_ndim(t);
    for (int i = 0; i < nd; i++) {
        int64_t size = h->tensor_size(t, i);
        fnv(hash, &size, sizeof size);
    }
    int64_t n = h->tensor_numel(t);
    float *data = malloc((size_t)(n > 0 ? n : 1) * sizeof *data);
    if (!data) {
        h->error("out of memory");
        return -1;
    }
    int rc = h->tensor_to_floats(t, data, n);
    if (rc == 0)
        fnv(hash, data, (size_t)n * sizeof *data);
    free(data);
    return rc;
}

int auto_cache_path(const rsi_context *ctx, const auto_options *o,
                    const rsi_tensor *b0, char *path, size_t n)
{
    const rsi_host_api *h = ctx->host;
    if (!ctx->cache_dir || !*ctx->cache_dir || !ctx->info)
        return 0;
    uint64_t key = FNV_OFFSET;
    /* 2: the best iterate, not the last; 3: the KL uniformity term; 4: lr
     * halved when the loss stalls */
    fnv_str(&key, "rsicam auto baseline 4");
    if (hash_model(ctx, &key) < 0)
        return 0;
    const double opts[6] = {o->w_u, o->w_d, o->lr, o->alpha, o->eps, o->target};
    fnv(&key, opts, sizeof opts);
    fnv(&key, &o->iterations, sizeof o->iterations);
    fnv(&key, &o->patience, sizeof o->patience);
    fnv_str(&key, o->init);
    if (hash_tensor(h, b0, &key) < 0)
        return -1;
    int len = snprintf(path, n, "%s/%s", ctx->cache_dir, CACHE_SUBDIR);
    if (len < 0 || (size_t)len >= n) {
        h->error("cache directory name too long");
        return -1;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        h->error("cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    len = snprintf(path + len, n - (size_t)len, "/auto-%016llx.npy",
                   (unsigned long long)key);
    if (len < 0 || strlen(path) + 1 >= n) {
        h->error("cache file name too long");
        return -1;
    }
    return 1;
}
