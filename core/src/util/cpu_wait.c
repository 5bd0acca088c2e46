/* rsicam — how long this process's threads waited for a CPU (cpu_wait.h). */
#include "cpu_wait.h"

#include <dirent.h>
#include <stdio.h>

/* One thread's wait, in nanoseconds; -1 when unreadable (it may have just
 * exited, which the caller takes as nothing to add). */
static long long thread_wait_ns(const char *tid)
{
    char path[300]; /* d_name is at most 255 bytes */
    unsigned long long run, wait;
    snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    const int got = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    return got == 2 ? (long long)wait : -1;
}

double rsi_cpu_wait_seconds(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    long long sum = 0;
    int read_any = 0;
    const struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        const long long ns = thread_wait_ns(ent->d_name);
        if (ns >= 0) {
            sum += ns;
            read_any = 1;
        }
    }
    closedir(d);
    return read_any ? (double)sum * 1e-9 : -1;
}
