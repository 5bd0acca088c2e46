/* rsicam command line: subcommands and the helpers they share. */
#ifndef RSICAM_CLI_H
#define RSICAM_CLI_H

#include "plugin_registry.h"
#include "strvec.h"

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

/* A growable list of strings (util's, with an error set when out of
 * memory); "a,b" arguments add each item. */
typedef rsi_strvec cli_list;
int cli_list_add(cli_list *l, const char *item);
/* Adds each comma-separated item of text. */
int cli_list_add_split(cli_list *l, const char *text);
void cli_list_free(cli_list *l);

/* "COMMAND: unknown or incomplete option 'ARG' (see rsicam COMMAND
 * --help)" as a usage error for the argument getopt_long just refused
 * (called when it returns '?' or ':'); returns -1. */
int cli_unknown_option(const char *command, int argc, char **argv);
/* Whole-string number parsing with rsi_parse_int/rsi_parse_double
 * (numbers.h), within [min, max]; -1 with a usage error naming the option
 * and the range. cli_parse_floats reads n numbers separated by ',' (or
 * 'x', for HxW). */
int cli_parse_int(const char *option, const char *text, long long min,
                  long long max, long long *out);
int cli_parse_floats(const char *option, const char *text, double *out, int n,
                     double min, double max);

#endif
