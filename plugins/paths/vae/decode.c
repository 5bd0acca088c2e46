/* The VAE in the classifier's terms (vae.h).
 *
 * The VAE has its own preprocessing (its rsicam.json: input size, mean,
 * std). Going in, a classifier input is un-normalised with the
 * classifier's mean/std, resized to the VAE's size and normalised with
 * the VAE's; coming out, the reverse. With identical preprocessing nothing
 * is converted at all (pixels.c), so an identity VAE gives back exactly
 * what went in. The module is loaded on the CPU and stays there: inputs
 * move to the CPU for it, and its outputs back to the image's device.
 */
#include "../../common/pixels.h"
#include "vae.h"

int vae_load(vae_model *v, const rsi_host_api *h, const char *path,
             const rsi_model_info *classifier)
{
    *v = (vae_model){.h = h, .cls = classifier};
    if (!classifier) {
        h->error("no preprocessing info (mean/std) in the context");
        return -1;
    }
    if (!(v->module = h->module_load(path)))
        return -1;
    static const char *const methods[] = {"encode", "decode"};
    for (int i = 0; i < 2; i++)
        if (h->module_has_method(v->module, methods[i]) != 1) {
            h->error_class(RSI_ERR_USAGE,
                           "'%s' has no method %s(); a VAE for this path "
                           "needs encode(x) -> z and decode(z) -> x "
                           "(@torch.jit.export them)",
                           path, methods[i]);
            vae_unload(v);
            return -1;
        }
    static const int64_t one = 1;
    v->own = h->module_get_info(v->module);
    v->cpu = v->own ? h->tensor_full(&one, 1, 0.0) : NULL;
    if (!v->cpu) {
        vae_unload(v);
        return -1;
    }
    return 0;
}

void vae_unload(vae_model *v)
{
    if (v->module)
        v->h->module_free(v->module);
    v->h->tensor_free(v->cpu);
    v->module = NULL;
    v->cpu = NULL;
}

rsi_tensor *vae_encode(const vae_model *v, const rsi_tensor *x)
{
    rsi_tensor *in =
        px_follow(v->h, px_convert(v->h, x, v->cls, v->own), v->cpu);
    rsi_tensor *z = in ? v->h->module_call(v->module, "encode", in) : NULL;
    v->h->tensor_free(in);
    return z;
}

rsi_tensor *vae_decode(const vae_model *v, const rsi_tensor *z,
                       const rsi_tensor *image)
{
    const rsi_host_api *h = v->h;
    rsi_tensor *out =
        px_follow(h, h->module_call(v->module, "decode", z), image);
    int ok = out && h->tensor_ndim(out) == 4 &&
             h->tensor_size(out, 0) == h->tensor_size(z, 0) &&
             h->tensor_size(out, 1) == h->tensor_size(image, 1);
    if (out && !ok) {
        char shape[96];
        h->error("decode() returned %s; expected [%lld, %lld, H, W]",
                 px_shape_text(h, out, shape, sizeof shape),
                 (long long)h->tensor_size(z, 0),
                 (long long)h->tensor_size(image, 1));
    }
    rsi_tensor *x = ok ? px_convert(h, out, v->own, v->cls) : NULL;
    h->tensor_free(out);
    if (x && (h->tensor_size(x, 2) != h->tensor_size(image, 2) ||
              h->tensor_size(x, 3) != h->tensor_size(image, 3))) {
        char got[96], want[96];
        h->error("decode() gives %s at the classifier's size; the image is "
                 "%s (does the VAE's rsicam.json give its input size?)",
                 px_shape_text(h, x, got, sizeof got),
                 px_shape_text(h, image, want, sizeof want));
        h->tensor_free(x);
        x = NULL;
    }
    return x;
}
