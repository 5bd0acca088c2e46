/* The "vae" path's parts: the VAE in the classifier's terms (decode.c). */
#ifndef RSICAM_PLUGIN_VAE_H
#define RSICAM_PLUGIN_VAE_H

#include "rsicam/plugin.h"

typedef struct vae_model {
    const rsi_host_api *h;
    rsi_module *module;
    const rsi_model_info *cls; /* the classifier's preprocessing */
    const rsi_model_info *own; /* the VAE's (owned by module) */
    rsi_tensor *cpu;           /* any CPU tensor: where the module runs */
} vae_model;

/* Loads the module and checks it has encode() and decode(). */
int vae_load(vae_model *v, const rsi_host_api *h, const char *path,
             const rsi_model_info *classifier);
void vae_unload(vae_model *v);

/* E(x) for x in the classifier's normalised space at its size. Codes
 * stay on the CPU, with the module. */
rsi_tensor *vae_encode(const vae_model *v, const rsi_tensor *x);
/* D(z) back in the classifier's space on image's device, checked to have
 * image's shape (apart from the batch size). */
rsi_tensor *vae_decode(const vae_model *v, const rsi_tensor *z,
                       const rsi_tensor *image);

#endif
