/* rsicam — the fatal-signal line that names the plugin (plugin_signal.h).
 *
 * A plugin that crashes inside an entry point takes the process with it;
 * nothing can save the run, but the user must learn which plugin did it.
 * The handler may only do async-signal-safe things, so the text is made
 * beforehand (rsi_plugin_note(), when the registry learns of the plugin)
 * and the handler only write()s it.
 *
 * Policy: the handlers are installed once, the first time any thread
 * enters a plugin, and chain: whatever was installed before (SIG_DFL for
 * the command; Python's faulthandler, say, in the extension) is put back
 * before the signal is raised again, so a crash outside plugins behaves
 * exactly as without rsicam, and one inside still reaches the previous
 * handler after our line. A process that never enters a plugin keeps its
 * handlers untouched. Installing per call and restoring afterwards was
 * rejected: with several threads inside plugins at once, the saves and
 * restores of process-wide handlers interleave.
 *
 * The handler runs on an alternate stack, so that a plugin that overflows
 * its stack still gets its line; alternate stacks are per thread, so each
 * thread gets one the first time it enters a plugin (unless it has one,
 * as Python's main thread may), freed when the thread ends.
 */
#include "plugin_signal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
enum { N_FATAL = sizeof fatal / sizeof *fatal };

static struct sigaction previous[N_FATAL];

/* initial-exec: read in the handler without a lazy TLS allocation. */
static _Thread_local const rsi_plugin *current
    __attribute__((tls_model("initial-exec")));
static _Thread_local int stack_checked
    __attribute__((tls_model("initial-exec")));

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t stack_key;

const char *rsi_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    }
    return NULL;
}

static char *put(char *at, const char *s)
{
    size_t n = strlen(s);
    memcpy(at, s, n);
    return at + n;
}

static void on_fatal(int sig)
{
    const rsi_plugin *p = current;
    if (p && p->note) {
        char line[96], digits[12];
        int k = 0;
        for (unsigned v = (unsigned)sig; k == 0 || v; v /= 10)
            digits[k++] = (char)('0' + v % 10);
        char *at = put(line, "rsicam: fatal signal ");
        while (k)
            *at++ = digits[--k];
        at = put(at, " (");
        at = put(at, rsi_signal_name(sig));
        at = put(at, ")");
        ssize_t ignored = write(STDERR_FILENO, line, (size_t)(at - line));
        ignored = write(STDERR_FILENO, p->note, strlen(p->note));
        (void)ignored;
    }
    /* back to what was there before, and again: SA_RESETHAND alone
     * would drop a previous handler (Python's) in favour of SIG_DFL */
    for (int i = 0; i < N_FATAL; i++)
        if (fatal[i] == sig)
            sigaction(sig, &previous[i], NULL);
    raise(sig);
}

static void free_stack(void *mem)
{
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(mem);
}

static void install(void)
{
    pthread_key_create(&stack_key, free_stack);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_FATAL; i++)
        sigaction(fatal[i], &sa, &previous[i]);
}

/* This thread's alternate signal stack, unless it has one already. */
static void ensure_stack(void)
{
    stack_checked = 1;
    stack_t now;
    if (sigaltstack(NULL, &now) != 0 || !(now.ss_flags & SS_DISABLE))
        return;
    size_t size = 64 * 1024;
    stack_t st = {.ss_sp = malloc(size), .ss_size = size};
    if (!st.ss_sp)
        return; /* the line is lost on overflow, nothing else */
    if (sigaltstack(&st, NULL) != 0) {
        free(st.ss_sp);
        return;
    }
    pthread_setspecific(stack_key, st.ss_sp);
}

const rsi_plugin *rsi_plugin_enter(const rsi_plugin *p)
{
    pthread_once(&install_once, install);
    if (!stack_checked)
        ensure_stack();
    const rsi_plugin *before = current;
    current = p;
    return before;
}

void rsi_plugin_leave(const rsi_plugin *previous_plugin)
{
    current = previous_plugin;
}
