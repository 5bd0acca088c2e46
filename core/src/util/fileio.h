/* rsicam — writing files so that a crash or a full disk never leaves a
 * partial file behind.
 *
 * Output goes to a temporary file next to the target (same directory, so the
 * final rename() stays on one file system and is atomic), which is flushed,
 * fsync'ed and renamed over the target only when everything was written.
 * Readers therefore see either the old file or the complete new one.
 *
 * Failures return -1 with an RSI_ERR_OUTPUT message naming the path.
 */
#ifndef RSICAM_FILEIO_H
#define RSICAM_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rsi_atomic_file {
    FILE *fp;       /* write here */
    char *path;     /* the final path */
    char *tmp_path; /* "<path>.tmp.<pid>.<n>" */
} rsi_atomic_file;

/* Creates the temporary file; on success f->fp is open for writing. */
int rsi_atomic_open(rsi_atomic_file *f, const char *path);
/* fflush + fsync + fclose + rename. On any failure (including a write error
 * reported late, e.g. ENOSPC at flush or close) the temporary file is
 * removed. f is released either way. */
int rsi_atomic_commit(rsi_atomic_file *f);
/* The same, except that it never replaces a file: where path exists (made
 * since, say), it fails ("File exists") and removes the temporary file. */
int rsi_atomic_commit_new(rsi_atomic_file *f);
/* Closes and removes the temporary file; f is released. Safe on a zeroed or
 * already released f. */
void rsi_atomic_abort(rsi_atomic_file *f);

/* Durability in one step for many files (an image's maps): after
 * rsi_fileio_defer_sync(1) this thread's commits stay atomic for readers
 * but skip their fsyncs, until rsi_fileio_defer_sync(0); then one
 * rsi_fileio_sync(dir) (syncfs of dir's file system) makes them durable,
 * before any record points at them. A crash in between leaves files no
 * record names. */
void rsi_fileio_defer_sync(int on);
int rsi_fileio_sync(const char *dir);

/* The whole file in one call. */
int rsi_write_file_atomic(const char *path, const void *data, size_t n);

/* Appends line + "\n" with a single write() on an O_APPEND descriptor,
 * then fsyncs. Appenders take turns (flock on the file), so lines from
 * threads or processes never interleave. All or nothing: a write cut
 * short (full disk, file size limit) is cut back off, and is an error.
 * A last line without its newline found before the write (the torn end
 * of a crash) is repaired first, with a one-line warning: see
 * rsi_repair_tail(). */
int rsi_append_line(const char *path, const char *line);

/* Repairs a last line that lacks its newline: a whole JSON object (a
 * record) gets its newline, anything else is cut back to the last
 * newline; one warning line on stderr says which. A missing file is
 * fine. -1 with errno on failure. */
int rsi_repair_tail(const char *path);

/* mkdir -p: creates dir and its missing parents (mode 0777 & ~umask). An
 * existing directory is fine; an existing non-directory is an error. */
int rsi_mkdir_p(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
