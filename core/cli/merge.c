/* rsicam merge: the shards of an experiment combined into one directory. */
#include <stdio.h>
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
    const char *args[argc > 0 ? argc : 1];
    int n = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "merge: unknown option '%s' (see rsicam "
                                "merge --help)",
                                argv[i]);
            return cli_fail();
        } else
            args[n++] = argv[i];
    }
    if (n < 2) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "merge: expected OUT and at least one shard "
                            "directory (see rsicam merge --help)");
        return cli_fail();
    }
    if (rsi_experiment_merge(args[0], args + 1, n - 1, quiet) < 0)
        return cli_fail();
    return 0;
}
