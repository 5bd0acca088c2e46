/* rsicam — how long this process's threads waited for a CPU.
 *
 * A timing taken while other work shared the cores says more about that
 * work than about ours. Linux counts, per thread, the time it was ready to
 * run but queued behind another task (the second field of
 * /proc/<pid>/task/<tid>/schedstat); the sum over this process's threads,
 * taken before and after a measurement, says how much of it was spent
 * waiting rather than running.
 */
#ifndef RSICAM_CPU_WAIT_H
#define RSICAM_CPU_WAIT_H

/* Seconds this process's live threads have spent waiting for a CPU, or
 * -1 where the kernel does not say (no /proc, no schedstat). Threads that
 * have exited no longer count, so compare two readings only across work
 * whose threads live throughout (libtorch's pool does). */
double rsi_cpu_wait_seconds(void);

#endif
