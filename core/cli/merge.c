/* rsicam merge: the shards of an experiment combined into one directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "experiment.h"
#include "rsicam/error.h"

static const char usage_text[] =
    "usage: rsicam merge OUT SHARD_DIR... [--quiet]\n"
    "\n"
    "Combines the output directories of `rsicam run --shard K/N` runs of\n"
    "one experiment into OUT: results.jsonl in unit order (as one run would\n"
    "write it), the map files (hard links, or copies across file systems),\n"
    "the montages and summary.csv. The shards must come from the same\n"
    "experiment (their run.json fingerprints are compared).\n";

int cli_merge(int argc, char **argv)
{
    /* the operands: OUT, then the shards (argv's own strings) */
    const char **args = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *args);
    int n = 0, quiet = 0, rc = 0;
    if (!args) {
        rsi_error("out of memory");
        return cli_fail();
    }
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            free(args);
            return 0;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "merge: unknown option '%s' (see rsicam "
                                "merge --help)",
                                argv[i]);
            rc = -1;
        } else {
            args[n++] = argv[i];
        }
    }
    if (rc == 0 && n < 2) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "merge: expected OUT and at least one shard "
                            "directory (see rsicam merge --help)");
        rc = -1;
    }
    if (rc == 0)
        rc = rsi_experiment_merge(args[0], args + 1, n - 1, quiet);
    free(args);
    return rc < 0 ? cli_fail() : 0;
}
