/* rsicam command line: subcommands and the helpers they share. */
#ifndef RSICAM_CLI_H
#define RSICAM_CLI_H

#include "plugin_registry.h"

int cli_explain(int argc, char **argv);
int cli_evaluate(int argc, char **argv);
int cli_plugins(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_merge(int argc, char **argv);
int cli_layers(int argc, char **argv);

/* Prints the pending error as "rsicam: MESSAGE" and returns its exit code
 * (the error class; 70 when it has none). */
int cli_fail(void);

/* Discovers plugins (--plugin-path dirs first), printing skipped ones as
 * warnings on stderr. Returns the registry, made current, or NULL. */
rsi_registry *cli_registry(const char *const *dirs, int n_dirs);

/* Opens model_file with the model plugin plugin_spec ("NAME[:k=v,...]";
 * NULL: onnx for .onnx files, else torchscript). NULL with the error
 * pending (a model error naming the file when it does not exist). */
rsi_model *cli_open_model(const char *model_file, const char *plugin_spec,
                          rsi_registry *r);

/* A growable list of strings; "a,b" arguments add each item. */
typedef struct cli_list {
    char **items;
    int n, cap;
} cli_list;
int cli_list_add(cli_list *l, const char *item);
/* Adds each comma-separated item of text. */
int cli_list_add_split(cli_list *l, const char *text);
void cli_list_free(cli_list *l);

/* Whole-string number parsing; -1 with a usage error naming the option. */
/* "COMMAND: unknown or incomplete option 'ARG' (see rsicam COMMAND
 * --help)" as a usage error; returns -1. */
int cli_unknown_option(const char *command, const char *arg);
int cli_parse_int(const char *option, const char *text, long long min,
                  long long *out);
int cli_parse_floats(const char *option, const char *text, double *out, int n);

#endif
