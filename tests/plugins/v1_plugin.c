/* A plugin as the SDK 1 headers built it: the 1.0 descriptor layout,
 * written out here because today's header describes 2.0. The loader must
 * refuse it in one line that names it, its file, its ABI and what to do.
 * Its first four members are where every major keeps them. */
#include <stdint.h>

typedef struct v1_descriptor {
    uint32_t abi_major, abi_minor;
    int kind; /* 2: baseline */
    const char *name;
    const char *version, *license, *description;
    const void *params;
    int (*init)(const void *host);
    const void *entry;
} v1_descriptor;

__attribute__((visibility("default"))) const v1_descriptor rsicam_plugin = {
    .abi_major = 1,
    .abi_minor = 0,
    .kind = 2,
    .name = "oldzero",
    .version = "1.0.0",
    .license = "MIT",
    .description = "a baseline built against rsicam 1.0 headers",
};
