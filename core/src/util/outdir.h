/* rsicam — what an output directory holds besides results: the lock that
 * keeps two rsicam processes from writing into it at once, and the record
 * of the temporary files a process made there.
 *
 * The lock is DIR/.rsicam.lock, held with flock() (released by the kernel
 * however the holder dies). run, merge and explain all take it.
 *
 * Temporary files (fileio.h) are named "<final>.tmp.<pid>.<n>". A process
 * killed while writing leaves some behind. They are cleaned up by name
 * only from the record, DIR/.rsicam.temporaries, that the process that
 * made them kept: a user's own "backup.tmp.2024.1" in the same directory
 * is never touched, whatever its name.
 */
#ifndef RSICAM_OUTDIR_H
#define RSICAM_OUTDIR_H

typedef struct rsi_out {
    int fd;     /* the lock's; -1: not held */
    char *path; /* DIR/.rsicam.lock */
    int remove; /* this holder created the file and removes it at release */
} rsi_out;

/* Claims dir for writing: takes its lock without waiting, removes the
 * temporaries that earlier processes recorded there and left behind, and
 * records this process's from now on. -1 (RSI_ERR_OUTPUT) when another
 * process holds the lock. A directory in which the lock file cannot be
 * created because nothing can be written there needs no lock: 0, o->fd =
 * -1. remove_after: remove the lock file at release when this call
 * created it (explain, which leaves no file of its own behind). */
int rsi_out_claim(rsi_out *o, const char *dir, int remove_after);
/* Stops recording temporaries (every one made is renamed or removed by
 * now) and releases the lock. Safe on a zeroed or released o. */
void rsi_out_release(rsi_out *o);

/* fileio.h: tmp_path is about to be created (recorded when it lies under
 * the recorded directory). */
void rsi_temporary_note(const char *tmp_path);
/* ... and is gone again: renamed, removed, or never made. When none of
 * this process's is left, the record is emptied, so that it stays short
 * however many files a run writes. */
void rsi_temporary_gone(void);

#endif
