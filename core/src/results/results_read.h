/* rsicam — reading results.jsonl back, and the files its records name.
 *
 * Every reader goes through here, so that all treat a damaged file alike:
 * a last line without its newline that is not a whole JSON object is the
 * torn end of a write that was cut short (a crash); it is skipped with one
 * warning line, never glued to or counted as a record. Any other line that
 * is not a JSON object goes to the caller, who decides.
 *
 * A record names its map files relative to the directory of its
 * results.jsonl. A record may come from anywhere (a shard copied from a
 * cluster, a hand-edited file), so such a name is used only when it stays
 * inside that directory: relative, without "..", and not leading out
 * through a symbolic link.
 */
#ifndef RSICAM_RESULTS_READ_H
#define RSICAM_RESULTS_READ_H

#include <jansson.h>
#include <stdio.h>

/* Called for each line that is not blank: record is the line's JSON
 * object (borrowed), or NULL when the line is not one (error says why).
 * line_no counts from 1. A return < 0 stops the reading. */
typedef int (*rsi_results_fn)(void *user, json_t *record, int line_no,
                              const char *error);

/* Reads path line by line. A missing file is no lines when missing_ok,
 * else an RSI_ERR_INPUT error. Returns 0, or -1: the callback's stop (its
 * error pending) or a read error. */
int rsi_results_read(const char *path, int missing_ok, rsi_results_fn fn,
                     void *user);
/* The same from an open stream; name names it in messages. */
int rsi_results_read_stream(FILE *fp, const char *name, rsi_results_fn fn,
                            void *user);

/* dir + "/" + rel (new string) when rel, a file name read from a record of
 * where (a "FILE:LINE" for messages), stays inside dir; NULL with an
 * RSI_ERR_INPUT error naming where and rel otherwise. When the file or
 * its directory exists, its real path must lie inside dir's. */
char *rsi_record_file(const char *dir, const char *rel, const char *where);

#endif
