/* rsicam layers: the layers a model offers, in order, with the shape each
 * outputs for one image at the model's input size, so users find the name
 * to give --layer. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "numbers.h"
#include "plugin_open.h"
#include "rsicam/error.h"
#include "rsicam/model.h"

static const char usage_text[] =
    "usage: rsicam layers MODEL [--model-plugin SPEC] [--input-size HxW]\n"
    "                    [--plugin-path DIR]...\n"
    "Lists the model's layer names with their output shapes for one image\n"
    "(explainable layers are 4-D: [1, channels, height, width]).\n";

static void print_layers(rsi_model *m, const char *const *names, int n,
                         const int64_t *dims, const int *ndims)
{
    const rsi_model_info *info = rsi_model_get_info(m);
    printf("# %s: input [1, 3, %lld, %lld], %d layer names\n",
           rsi_model_path(m), (long long)info->input_h,
           (long long)info->input_w, n);
    for (int i = 0; i < n; i++) {
        printf("%-40s ", names[i]);
        if (ndims[i] < 0) {
            printf("(cannot be exposed: not called exactly once)\n");
            continue;
        }
        printf("[");
        for (int d = 0; d < ndims[i]; d++)
            printf("%s%lld", d ? ", " : "",
                   (long long)dims[i * RSI_LAYER_DIMS + d]);
        printf("]%s\n", ndims[i] == 4 ? "" : "  (not a feature map)");
    }
}

int cli_layers(int argc, char **argv)
{
    static const struct option options[] = {
        {"plugin-path", required_argument, NULL, 'P'},
        {"model-plugin", required_argument, NULL, 'M'},
        {"input-size", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list dirs = {0};
    const char *plugin = NULL;
    double size[2] = {0, 0};
    int opt, rc = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'P' && cli_list_add(&dirs, optarg) < 0) {
            rc = cli_fail();
            goto out;
        } else if (opt == 'M') {
            plugin = optarg;
        } else if (opt == 'S') {
            if (cli_parse_floats("--input-size", optarg, size, 2, 1,
                                 RSI_INPUT_SIDE_MAX) < 0 ||
                size[0] != (int64_t)size[0] || size[1] != (int64_t)size[1]) {
                if (!rsi_error_pending())
                    rsi_error_class_set(RSI_ERR_USAGE,
                                        "layers: --input-size: expected whole "
                                        "numbers HxW, got '%s'",
                                        optarg);
                rc = cli_fail();
                goto out;
            }
        } else if (opt != 'P') {
            fputs(usage_text, opt == 'h' ? stdout : stderr);
            rc = opt == 'h' ? 0 : 2;
            goto out;
        }
    }
    if (optind + 1 != argc) {
        fputs(usage_text, stderr);
        rc = 2;
        goto out;
    }
    rsi_registry *r = cli_registry((const char *const *)dirs.items, dirs.n);
    rsi_model *m = r ? rsi_model_open_file(r, plugin, argv[optind]) : NULL;
    int n = 0;
    const char *const *names = m ? rsi_model_module_paths(m, &n) : NULL;
    int64_t *dims =
        m ? calloc((size_t)n + 1, RSI_LAYER_DIMS * sizeof *dims) : NULL;
    int *ndims = m ? calloc((size_t)n + 1, sizeof *ndims) : NULL;
    if (m && (!dims || !ndims))
        rsi_error("out of memory");
    if (m && size[0] > 0) {
        rsi_model_get_info(m)->input_h = (int64_t)size[0];
        rsi_model_get_info(m)->input_w = (int64_t)size[1];
    }
    const rsi_model_info *info = m ? rsi_model_get_info(m) : NULL;
    if (dims && ndims &&
        rsi_model_layer_shapes(m, info->input_h, info->input_w, dims, ndims) ==
            0)
        print_layers(m, names, n, dims, ndims);
    else
        rc = cli_fail();
    free(dims);
    free(ndims);
    rsi_model_free(m);
    rsi_registry_free(r);
out:
    cli_list_free(&dirs);
    return rc;
}
