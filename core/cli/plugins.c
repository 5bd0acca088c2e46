/* rsicam plugins: list every plugin found, with its parameters. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int cli_plugins(int argc, char **argv)
{
    static const struct option options[] = {
        {"plugin-path", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list dirs = {0};
    int opt, rc = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'P') {
            if (cli_list_add(&dirs, optarg) < 0) {
                rc = cli_fail();
                goto out;
            }
        } else {
            fprintf(opt == 'h' ? stdout : stderr,
                    "usage: rsicam plugins [--plugin-path DIR]...\n");
            rc = opt == 'h' ? 0 : 2;
            goto out;
        }
    }
    rsi_registry *r = cli_registry((const char *const *)dirs.items, dirs.n);
    if (!r || rsi_registry_print(r, stdout) < 0)
        rc = cli_fail();
    rsi_registry_free(r);
out:
    cli_list_free(&dirs);
    return rc;
}
