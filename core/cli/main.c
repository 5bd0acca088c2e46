/* rsicam — RSI-Grad-CAM heatmaps for TorchScript and ONNX image
 * classifiers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rsicam/error.h"
#include "rsicam/model.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: rsicam COMMAND [OPTIONS]\n"
                 "\n"
                 "commands:\n"
                 "  explain   heatmaps for images (rsicam explain --help)\n"
                 "  evaluate  localisation metrics of maps against boxes\n"
                 "  run       run an experiment file (rsicam run --help)\n"
                 "  merge     combine the shards of an experiment\n"
                 "  plugins   list the plugins found, with their parameters\n"
                 "  layers    a model's layer names and output shapes\n"
                 "  version   print the version\n");
}

static int run_command(int argc, char **argv);

/* Ends the process once the command is done: its files are closed, its
 * threads joined and only standard output may still be buffered. Left to
 * exit(), libtorch's static destructors deregister its operators one by
 * one and every block is freed, for memory the kernel takes back anyway:
 * 0.47 s of a 3.2 s ResNet50 `layer4` command on the 2-core AMD EPYC VM
 * (strace: from the lock file's removal to exit_group). Sanitizer builds
 * exit as usual, so that the leak check still runs. A standard output
 * that cannot be written is the command's failure. */
static int finish(int rc)
{
    if (fflush(stdout) != 0) {
        fprintf(stderr, "rsicam: cannot write standard output: %s\n",
                strerror(errno));
        if (rc == 0)
            rc = RSI_ERR_OUTPUT;
    }
#if !defined(__SANITIZE_ADDRESS__)
    fflush(stderr);
    _exit(rc);
#endif
    return rc;
}

int main(int argc, char **argv)
{
    return finish(run_command(argc, argv));
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* the process is rsicam's own: its large tensors may sit in huge
     * pages, kept for reuse (rsi_torch_use_huge_pages) */
    if (rsi_torch_use_huge_pages() < 0)
        return cli_fail();
    /* and its graphs may run the way that is fastest for its device */
    if (rsi_torch_set_executor("auto") < 0)
        return cli_fail();
    const char *cmd = argv[1];
    if (strcmp(cmd, "explain") == 0)
        return cli_explain(argc - 1, argv + 1);
    if (strcmp(cmd, "evaluate") == 0)
        return cli_evaluate(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return cli_merge(argc - 1, argv + 1);
    if (strcmp(cmd, "plugins") == 0)
        return cli_plugins(argc - 1, argv + 1);
    if (strcmp(cmd, "layers") == 0)
        return cli_layers(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("rsicam %s\n", RSICAM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "rsicam: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
