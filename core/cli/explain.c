/* rsicam explain: heatmaps for images. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "experiment.h"
#include "explain.h"
#include "fileio.h"
#include "image.h"
#include "map_kinds.h"
#include "model_info.h"
#include "numbers.h"
#include "outdir.h"
#include "params.h"
#include "plugin_open.h"
#include "rsicam/error.h"
#include "rsicam/model.h"

static const char usage_text[] =
    "usage: rsicam explain --model M.pt --image FILE [--image FILE]... "
    "--out DIR [options]\n"
    "\n"
    "  --model FILE        TorchScript classifier (output [N, classes])\n"
    "  --layer PATH        PyTorch module path(s), e.g. layer4 or "
    "features.36;\n"
    "                      repeat or comma-separate; default: the model's\n"
    "  --image FILE        image(s) to explain (also as plain arguments)\n"
    "  --out DIR           output directory (created)\n"
    "  --class N           class(es) to explain; repeat or comma-separate\n"
    "                      (default: the top prediction)\n"
    "  --top-k K           explain the K top predictions (default 1)\n"
    "  --steps M|auto      path steps; M + 1 points (default 50). auto: start\n"
    "                      at 4 and split the intervals that carry the\n"
    "                      error, computing only the new points, until every\n"
    "                      map's completeness gap and change since the last\n"
    "                      refinement are <= --tol\n"
    "  --tol T             tolerance of --steps auto (default 0.01)\n"
    "  --max-steps M       --steps auto: no interval finer than 1/M of the\n"
    "                      path (default 256)\n"
    "  --batch B|auto      path points per forward pass (default auto: on\n"
    "                      the CPU the one of 1..16 that runs this\n"
    "                      command's points fastest, first forwards\n"
    "                      included, from a measurement made once per\n"
    "                      model and machine and cached, unless other work\n"
    "                      held the CPU, and where the network after the\n"
    "                      layer is only pooling and 32 MiB or more of\n"
    "                      fully connected layers (VGG19), forwards of up\n"
    "                      to 64 points whose part before the layer runs\n"
    "                      that many at a time; on a GPU 4 images' points,\n"
    "                      4 M, or 64 with --steps auto)\n";
/* --method, --variant and --score come between: map_kinds.h's names. */
static const char usage_tail[] =
    "  --baseline SPEC     NAME[:k=v,...] (default zero)\n"
    "  --path SPEC         NAME[:k=v,...] (default linear)\n"
    "  --model-plugin SPEC model plugin (default onnx for .onnx files, else "
    "torchscript)\n"
    "  --input-size HxW    override the model's input size\n"
    "  --mean R,G,B        override the model's normalisation mean\n"
    "  --std R,G,B         override the model's normalisation std\n"
    "  --channel-order O   rgb or bgr: the order the model takes channels in\n"
    "  --labels FILE       class names, one a line\n"
    "  --threads T         libtorch threads (default: every core)\n"
    "  --device D          cpu, cuda or cuda:N (default cpu)\n"
    "  --precision P       fp32 or bf16: bf16 runs the network before the\n"
    "                      first layer under bfloat16 autocast (default fp32)\n"
    "  --plugin-path DIR   search DIR for plugins first (repeatable)\n"
    "  --quiet             no progress lines\n";

typedef struct explain_args {
    cli_list layers, images, plugin_dirs;
    const char *model, *out, *labels, *channel_order;
    const char *baseline, *path, *model_plugin, *device, *precision;
    int64_t classes[RSI_EXPLAIN_MAX_CLASSES];
    int n_classes;
    long long top_k, steps, batch, threads, max_steps;
    double tol;     /* --tol; used with --steps auto */
    int steps_auto; /* --steps auto */
    int methods, variants, scores, quiet;
    int has_size, has_mean, has_std;
    double size[2], mean[3], std[3];
} explain_args;

/* Parses a comma list of names into a bit mask (bit i for names[i]). */
static int parse_mask(const char *option, const char *text,
                      const char *const *names, int n, int *mask)
{
    cli_list items = {0};
    int rc = cli_list_add_split(&items, text);
    *mask = 0;
    for (int i = 0; rc == 0 && i < items.n; i++) {
        int found = -1;
        for (int k = 0; k < n; k++)
            if (strcmp(items.items[i], names[k]) == 0)
                found = k;
        if (found < 0) {
            rsi_error_class_set(RSI_ERR_USAGE, "%s: unknown value '%s'", option,
                                items.items[i]);
            rc = -1;
        } else {
            *mask |= 1 << found;
        }
    }
    cli_list_free(&items);
    if (rc == 0 && !*mask) {
        rsi_error_class_set(RSI_ERR_USAGE, "%s: no value given", option);
        rc = -1;
    }
    return rc;
}

/* --layer's comma list: each layer once, and at least one per option
 * (an empty one silently meant the default layer). */
static int add_layers(cli_list *layers, const char *text)
{
    int before = layers->n;
    if (cli_list_add_split(layers, text) < 0)
        return -1;
    if (layers->n == before) {
        rsi_error_class_set(RSI_ERR_USAGE, "--layer: no layer named in '%s'",
                            text);
        return -1;
    }
    for (int i = before; i < layers->n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(layers->items[i], layers->items[j]) == 0) {
                /* its maps would share one set of files */
                rsi_error_class_set(RSI_ERR_USAGE, "--layer: '%s' given twice",
                                    layers->items[i]);
                return -1;
            }
    return 0;
}

/* --class's comma list, added to the classes given before; each class
 * once is the explainer's to check (rsi_explainer_new). */
static int add_classes(explain_args *a, const char *text)
{
    cli_list items = {0};
    int rc = cli_list_add_split(&items, text);
    if (rc == 0 && items.n == 0) {
        rsi_error_class_set(RSI_ERR_USAGE, "--class: no class in '%s'", text);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < items.n; i++) {
        long long c;
        if ((rc = cli_parse_int("--class", items.items[i], 0, INT32_MAX, &c)) <
            0)
            break;
        if (a->n_classes == RSI_EXPLAIN_MAX_CLASSES) {
            rsi_error_class_set(RSI_ERR_USAGE, "--class: at most %d classes",
                                RSI_EXPLAIN_MAX_CLASSES);
            rc = -1;
        } else {
            a->classes[a->n_classes++] = c;
        }
    }
    cli_list_free(&items);
    return rc;
}

/* The choices' names, in bit order (map_kinds.h). */
typedef struct choices {
    const char *methods[RSI_MAP_KINDS_MAX], *variants[RSI_MAP_KINDS_MAX];
    int n_methods, n_variants;
} choices;

static choices get_choices(void)
{
    choices c;
    c.n_methods = rsi_map_methods(c.methods);
    c.n_variants = rsi_map_variants(c.variants);
    return c;
}

/* "  --method LIST       rsi, gradcam (default rsi)": the first is the
 * default (cli_explain's bit sets are 1). */
static void put_choice_line(const char *option, const char *const *names, int n)
{
    printf("  %-19s ", option);
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", names[i]);
    printf(" (default %s)\n", names[0]);
}

static void put_usage(void)
{
    const choices c = get_choices();
    fputs(usage_text, stdout);
    put_choice_line("--method LIST", c.methods, c.n_methods);
    put_choice_line("--variant LIST", c.variants, c.n_variants);
    put_choice_line("--score LIST", rsi_score_kind_names(), RSI_SCORE_KINDS);
    fputs(usage_tail, stdout);
}

enum {
    OPT_MODEL = 256,
    OPT_LAYER,
    OPT_IMAGE,
    OPT_OUT,
    OPT_CLASS,
    OPT_STEPS,
    OPT_BATCH,
    OPT_METHOD,
    OPT_VARIANT,
    OPT_SCORE,
    OPT_BASELINE,
    OPT_PATH,
    OPT_MODEL_PLUGIN,
    OPT_SIZE,
    OPT_CHANNEL_ORDER,
    OPT_MEAN,
    OPT_STD,
    OPT_LABELS,
    OPT_THREADS,
    OPT_PLUGIN_PATH,
    OPT_QUIET,
    OPT_HELP,
    OPT_TOP_K,
    OPT_DEVICE,
    OPT_PRECISION,
    OPT_TOL,
    OPT_MAX_STEPS
};

static const struct option options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"layer", required_argument, NULL, OPT_LAYER},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"out", required_argument, NULL, OPT_OUT},
    {"class", required_argument, NULL, OPT_CLASS},
    {"top-k", required_argument, NULL, OPT_TOP_K},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"tol", required_argument, NULL, OPT_TOL},
    {"max-steps", required_argument, NULL, OPT_MAX_STEPS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"method", required_argument, NULL, OPT_METHOD},
    {"variant", required_argument, NULL, OPT_VARIANT},
    {"score", required_argument, NULL, OPT_SCORE},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"path", required_argument, NULL, OPT_PATH},
    {"model-plugin", required_argument, NULL, OPT_MODEL_PLUGIN},
    {"input-size", required_argument, NULL, OPT_SIZE},
    {"channel-order", required_argument, NULL, OPT_CHANNEL_ORDER},
    {"mean", required_argument, NULL, OPT_MEAN},
    {"std", required_argument, NULL, OPT_STD},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {0},
};

/* Returns 0, 1 for --help, or -1 with an error. */
static int parse_args(int argc, char **argv, explain_args *a)
{
    const choices c = get_choices();
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case OPT_MODEL:
            a->model = optarg;
            break;
        case OPT_LAYER:
            rc = add_layers(&a->layers, optarg);
            break;
        case OPT_IMAGE:
            rc = cli_list_add(&a->images, optarg);
            break;
        case OPT_OUT:
            a->out = optarg;
            break;
        case OPT_CLASS:
            rc = add_classes(a, optarg);
            break;
        case OPT_DEVICE:
            a->device = optarg;
            break;
        case OPT_PRECISION:
            a->precision = optarg;
            break;
        case OPT_TOP_K:
            rc = cli_parse_int("--top-k", optarg, 1, RSI_EXPLAIN_MAX_CLASSES,
                               &a->top_k);
            break;
        case OPT_STEPS:
            a->steps_auto = strcmp(optarg, "auto") == 0;
            if (!a->steps_auto)
                rc = cli_parse_int("--steps", optarg, 1, RSI_STEPS_MAX,
                                   &a->steps);
            break;
        case OPT_TOL:
            /* (0, 1): the bounds are open, checked after */
            rc = cli_parse_floats("--tol", optarg, &a->tol, 1, 0, 1);
            if (rc == 0 && !(a->tol > 0 && a->tol < 1)) {
                rsi_error_class_set(RSI_ERR_USAGE,
                                    "--tol: expected a number in (0, 1), got "
                                    "'%s'",
                                    optarg);
                rc = -1;
            }
            break;
        case OPT_MAX_STEPS:
            rc = cli_parse_int("--max-steps", optarg, 4, RSI_STEPS_MAX,
                               &a->max_steps);
            break;
        case OPT_BATCH:
            a->batch = 0; /* auto */
            if (strcmp(optarg, "auto") != 0)
                rc = cli_parse_int("--batch", optarg, 1, RSI_BATCH_MAX,
                                   &a->batch);
            break;
        case OPT_THREADS:
            rc = cli_parse_int("--threads", optarg, 1, RSI_THREADS_MAX,
                               &a->threads);
            break;
        case OPT_METHOD:
            rc = parse_mask("--method", optarg, c.methods, c.n_methods,
                            &a->methods);
            break;
        case OPT_VARIANT:
            rc = parse_mask("--variant", optarg, c.variants, c.n_variants,
                            &a->variants);
            break;
        case OPT_SCORE:
            rc = parse_mask("--score", optarg, rsi_score_kind_names(),
                            RSI_SCORE_KINDS, &a->scores);
            break;
        case OPT_BASELINE:
            a->baseline = optarg;
            break;
        case OPT_PATH:
            a->path = optarg;
            break;
        case OPT_MODEL_PLUGIN:
            a->model_plugin = optarg;
            break;
        case OPT_CHANNEL_ORDER: {
            int bgr;
            a->channel_order = optarg;
            if (rsi_channel_order_parse(optarg, &bgr) < 0) {
                rsi_error_class_set(RSI_ERR_USAGE,
                                    "explain: --channel-order: expected rgb "
                                    "or bgr, got '%s'",
                                    optarg);
                rc = -1;
            }
            break;
        }
        case OPT_SIZE:
            rc = cli_parse_floats("--input-size", optarg, a->size, 2, 1,
                                  RSI_INPUT_SIDE_MAX);
            a->has_size = 1;
            if (rc == 0 && (a->size[0] != (int64_t)a->size[0] ||
                            a->size[1] != (int64_t)a->size[1])) {
                rsi_error_class_set(RSI_ERR_USAGE,
                                    "--input-size: expected whole numbers "
                                    "HxW, got '%s'",
                                    optarg);
                rc = -1;
            }
            break;
        case OPT_MEAN:
            rc = cli_parse_floats("--mean", optarg, a->mean, 3,
                                  -RSI_MEAN_ABS_MAX, RSI_MEAN_ABS_MAX);
            a->has_mean = 1;
            break;
        case OPT_STD:
            rc = cli_parse_floats("--std", optarg, a->std, 3, RSI_STD_MIN,
                                  RSI_STD_MAX);
            a->has_std = 1;
            break;
        case OPT_LABELS:
            a->labels = optarg;
            break;
        case OPT_PLUGIN_PATH:
            rc = cli_list_add(&a->plugin_dirs, optarg);
            break;
        case OPT_QUIET:
            a->quiet = 1;
            break;
        case OPT_HELP:
            return 1;
        default:
            rc = cli_unknown_option("explain", argc, argv);
        }
        if (rc < 0)
            return -1;
    }
    for (int i = optind; i < argc; i++)
        if (cli_list_add(&a->images, argv[i]) < 0)
            return -1;
    const char *missing = !a->model      ? "--model"
                          : !a->out      ? "--out"
                          : !a->images.n ? "--image"
                                         : NULL;
    if (missing) {
        rsi_error_class_set(RSI_ERR_USAGE, "explain: %s is required", missing);
        return -1;
    }
    if (!a->steps_auto && (a->tol > 0 || a->max_steps > 0)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "explain: --tol and --max-steps go with --steps "
                            "auto");
        return -1;
    }
    return 0;
}

/* Applies the command line's preprocessing overrides to the model. A
 * labels file must name each of the model's classes: one forward pass
 * counts them. */
static int apply_overrides(const explain_args *a, rsi_model *model,
                           rsi_model_info *info)
{
    if (a->has_size) {
        info->input_h = (int64_t)a->size[0];
        info->input_w = (int64_t)a->size[1];
    }
    if (a->has_mean)
        memcpy(info->mean, a->mean, sizeof info->mean);
    if (a->has_std)
        memcpy(info->std, a->std, sizeof info->std);
    if (a->channel_order)
        rsi_channel_order_parse(a->channel_order, &info->bgr);
    if (!a->labels)
        return 0;
    int64_t classes;
    if (rsi_model_info_read_labels(info, a->labels) < 0 ||
        rsi_model_count_classes(model, &classes) < 0)
        return -1;
    if (info->num_labels != classes) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "labels '%s': %lld lines for the model's %lld "
                            "classes (one name a line, one line a class)",
                            a->labels, (long long)info->num_labels,
                            (long long)classes);
        return -1;
    }
    return 0;
}

/* Queues the images, each with a stem of its own: images of the same
 * name from different folders (a/x.png, b/x.png, a/x.jpg) get their
 * path's hash in it, as in experiments, instead of sharing files. */
static int queue_images(rsi_explainer *e, const explain_args *a)
{
    char **stems = calloc((size_t)a->images.n, sizeof *stems);
    int rc = stems ? rsi_image_stems((const char *const *)a->images.items,
                                     a->images.n, stems)
                   : -1;
    if (!stems)
        rsi_error("out of memory");
    for (int i = 0; rc == 0 && i < a->images.n; i++)
        rc = rsi_explainer_queue(
            e, a->images.items[i],
            &(rsi_image_request){.stem = stems[i], .label = -1});
    for (int i = 0; stems && i < a->images.n; i++)
        free(stems[i]);
    free(stems);
    return rc;
}

static int run(explain_args *a)
{
    rsi_registry *r = NULL;
    rsi_model *model = NULL;
    rsi_explainer *e = NULL;
    char *baseline_params = NULL, *path_params = NULL;
    rsi_out claim = {.fd = -1};
    int rc = 0;
    if (rsi_torch_set_threads((int)a->threads) < 0)
        goto fail;
    if (!(r = cli_registry((const char *const *)a->plugin_dirs.items,
                           a->plugin_dirs.n)))
        goto fail;
    /* libvips on the other core while the model loads: after the threads,
     * whose setting writes the environment that its start-up reads, and
     * after the plugin scan, whose fork must not copy a thread's locks
     * (libvips's start-up loads its modules: a scan forked meanwhile
     * hung in dlopen on the loader's lock) */
    rsi_vips_init_ahead();
    const rsi_plugin *baseline = rsi_plugin_open_spec(
        r, RSI_PLUGIN_BASELINE, a->baseline, &baseline_params);
    const rsi_plugin *path =
        baseline
            ? rsi_plugin_open_spec(r, RSI_PLUGIN_PATH, a->path, &path_params)
            : NULL;
    if (!path || !(model = rsi_model_open_file(r, a->model_plugin, a->model)) ||
        rsi_model_set_device(model, a->device) < 0 ||
        rsi_model_set_precision(model, a->precision) < 0)
        goto fail;
    rsi_model_info *info = rsi_model_get_info(model);
    if (apply_overrides(a, model, info) < 0)
        goto fail;
    if (!a->layers.n) {
        if (!info->default_layer) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "explain: --layer is required (model '%s' "
                                "names no default layer)",
                                a->model);
            goto fail;
        }
        if (cli_list_add(&a->layers, info->default_layer) < 0)
            goto fail;
    }
    rsi_explain_options opt = {
        .layers = (const char *const *)a->layers.items,
        .n_layers = a->layers.n,
        .methods = a->methods,
        .variants = a->variants,
        .score_kinds = a->scores,
        .classes = a->n_classes ? a->classes : NULL,
        .n_classes = a->n_classes,
        .top_k = (int)a->top_k,
        .steps = a->steps_auto ? 4 : a->steps,
        .tol = !a->steps_auto ? 0
               : a->tol > 0   ? a->tol
                              : 0.01,
        .max_steps = a->max_steps > 0 ? a->max_steps : 256,
        .batch = a->batch,
        .baseline = baseline,
        .baseline_params = baseline_params,
        .path = path,
        .path_params = path_params,
        .out_dir = a->out,
        .model_name = a->model,
    };
    /* the options checked (layers, classes, plugin parameters) before the
     * output folder is made; then one writer at a time: the lock a running
     * experiment holds */
    if (!(e = rsi_explainer_new(model, &opt)) || rsi_mkdir_p(a->out) < 0 ||
        rsi_out_claim(&claim, a->out, 1) < 0 || queue_images(e, a) < 0)
        goto fail;
    /* One bad image must not cost the others: go on, exit with the first
     * failure's code. */
    for (int i = 0; i < a->images.n; i++) {
        if (rsi_explain_next(e) < 0) {
            int code = cli_fail();
            rc = rc ? rc : code;
        } else if (!a->quiet) {
            fprintf(stderr, "rsicam: [%d/%d] %s done\n", i + 1, a->images.n,
                    a->images.items[i]);
        }
    }
    goto out;
fail:
    rc = cli_fail();
out:
    rsi_explainer_free(e);
    rsi_out_release(&claim);
    rsi_model_free(model);
    rsi_registry_free(r);
    free(baseline_params);
    free(path_params);
    return rc;
}

int cli_explain(int argc, char **argv)
{
    explain_args a = {.steps = 50,
                      .batch = 0, /* auto */
                      .threads = 0,
                      .methods = 1,
                      .variants = 1,
                      .scores = 1,
                      .baseline = "zero",
                      .path = "linear",
                      .model_plugin = NULL, /* by the file's name */
                      .device = "cpu",
                      .precision = "fp32"};
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) {
        put_usage();
        rc = 0;
    } else if (rc < 0) {
        rc = cli_fail();
    } else {
        rc = run(&a);
    }
    cli_list_free(&a.layers);
    cli_list_free(&a.images);
    cli_list_free(&a.plugin_dirs);
    return rc;
}
