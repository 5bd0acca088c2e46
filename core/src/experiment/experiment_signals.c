/* rsicam — SIGINT and SIGTERM during a run: noted, and acted on between
 * units (see experiment_internal.h). */
#include <signal.h>
#include <string.h>

#include "experiment_internal.h"

static volatile sig_atomic_t caught;

static void note(int sig)
{
    caught = sig;
}

void xp_signals_catch(xp_signals *s)
{
    caught = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = note;
    sigemptyset(&sa.sa_mask);
    /* the second signal acts at once, as if nothing were caught */
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    s->installed = sigaction(SIGINT, NULL, &s->old_int) == 0 &&
                   sigaction(SIGTERM, NULL, &s->old_term) == 0;
    /* a signal ignored by whoever started us (nohup, a background job)
     * stays ignored */
    if (s->installed && s->old_int.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    if (s->installed && s->old_term.sa_handler != SIG_IGN)
        sigaction(SIGTERM, &sa, NULL);
}

int xp_signals_caught(void)
{
    return caught;
}

void xp_signals_restore(xp_signals *s)
{
    if (s->installed) {
        sigaction(SIGINT, &s->old_int, NULL);
        sigaction(SIGTERM, &s->old_term, NULL);
    }
    s->installed = 0;
}
