/* rsicam run: an experiment file, with overrides, resume and shards. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "experiment.h"
#include "numbers.h"
#include "rsicam/error.h"

static const char usage_text[] =
    "usage: rsicam run EXPERIMENT.yaml [KEY=VALUE ...] [options]\n"
    "\n"
    "Runs every combination of the settings an experiment file lists\n"
    "(docs/experiments.md). The whole file is checked first; every problem\n"
    "is reported as FILE:LINE: message, and nothing runs (exit 2).\n"
    "Rerunning into the same output directory resumes: finished units\n"
    "(image x baseline x path x steps) are skipped.\n"
    "\n"
    "  KEY=VALUE           override the file: steps=100, output=dir,\n"
    "                      layers=[layer4,layer3], baseline.blur.sigma=8\n"
    "  --shard K/N         run the K-th of N shares of the units (1 <= K <= "
    "N);\n"
    "                      combine the shares with rsicam merge\n"
    "  --check             check the file and print the plan; compute "
    "nothing\n"
    "  --plugin-path DIR   search DIR for plugins first (repeatable)\n"
    "  --quiet             no progress lines\n";

typedef struct run_args {
    const char *config;
    cli_list overrides, plugin_dirs;
    int shard_k, shard_n, check, quiet;
} run_args;

enum { OPT_SHARD = 256, OPT_CHECK, OPT_PLUGIN_PATH, OPT_QUIET, OPT_HELP };

static const struct option options[] = {
    {"shard", required_argument, NULL, OPT_SHARD},
    {"check", no_argument, NULL, OPT_CHECK},
    {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {0},
};

static int parse_shard(const char *text, run_args *a)
{
    /* K/N, each checked whole (sscanf's %d overflows silently) */
    char k_text[32] = "";
    const char *slash = strchr(text, '/');
    size_t k_len = slash ? (size_t)(slash - text) : 0;
    int64_t k = 0, n = 0;
    if (slash && k_len < sizeof k_text)
        memcpy(k_text, text, k_len);
    if (!slash || k_len >= sizeof k_text ||
        rsi_parse_int(slash + 1, 1, INT32_MAX, &n) < 0 ||
        rsi_parse_int(k_text, 1, n, &k) < 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "--shard: expected K/N with 1 <= K <= N, got '%s'",
                            text);
        return -1;
    }
    a->shard_k = (int)k;
    a->shard_n = (int)n;
    return 0;
}

/* Returns 0, 1 for --help, or -1 with an error. */
static int parse_args(int argc, char **argv, run_args *a)
{
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case OPT_SHARD:
            rc = parse_shard(optarg, a);
            break;
        case OPT_CHECK:
            a->check = 1;
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
            rc = cli_unknown_option("run", argc, argv);
        }
        if (rc < 0)
            return -1;
    }
    /* getopt moved the operands last: the file, then KEY=VALUE overrides */
    for (int i = optind; i < argc; i++) {
        if (!a->config && !strchr(argv[i], '='))
            a->config = argv[i];
        else if (cli_list_add(&a->overrides, argv[i]) < 0)
            return -1;
    }
    if (!a->config) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "run: no experiment file given (see rsicam run "
                            "--help)");
        return -1;
    }
    return 0;
}

static int run(const run_args *a)
{
    rsi_diag d = {0};
    rsi_experiment *xp = rsi_experiment_load(
        a->config, (const char *const *)a->overrides.items, a->overrides.n,
        (const char *const *)a->plugin_dirs.items, a->plugin_dirs.n, &d);
    if (!xp) {
        int rc;
        if (d.n) {
            rsi_diag_print(&d, "rsicam: ", stderr);
            fprintf(stderr, "rsicam: %d problem%s in %s; nothing was run\n",
                    d.n, d.n == 1 ? "" : "s", a->config);
            rsi_error_clear();
            rc = RSI_ERR_USAGE;
        } else {
            rc = cli_fail();
        }
        rsi_diag_free(&d);
        return rc;
    }
    rsi_diag_free(&d);
    int rc = 0;
    if (a->check) {
        rsi_experiment_print_plan(xp, a->shard_k, a->shard_n, stdout);
    } else {
        rsi_run_options ro = {
            .shard_k = a->shard_k, .shard_n = a->shard_n, .quiet = a->quiet};
        rsi_run_stats stats;
        rc = rsi_experiment_run(xp, &ro, &stats);
        if (rc < 0)
            rc = cli_fail();
    }
    rsi_experiment_free(xp);
    return rc;
}

int cli_run(int argc, char **argv)
{
    run_args a = {.shard_k = 1, .shard_n = 1};
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) {
        fputs(usage_text, stdout);
        rc = 0;
    } else if (rc < 0) {
        rc = cli_fail();
    } else {
        rc = run(&a);
    }
    cli_list_free(&a.overrides);
    cli_list_free(&a.plugin_dirs);
    return rc;
}
