/* rsicam — trying plugin files in a child process (plugin_scan.h).
 *
 * The design of GStreamer's gst-plugin-scanner, in a fork: the child
 * tries the files one by one, as the loader always has (dlopen, the
 * descriptor's checks, duplicates, init), then dlcloses each, and writes
 * to a pipe, per file: "scanning I", then the plugin's record (what its
 * descriptor declares, parameters included, for listing and parsing) or
 * its warning line, then "done I". When the child dies, the last file it
 * began is the culprit: it is warned about, and a new child goes on after
 * it. This process never runs the code of a file it was not asked for.
 * A child that says nothing for too long (a constructor that waits for
 * ever) is stopped the same way, its file warned about and skipped.
 *
 * fork() without exec: the child is a copy of this process, so it knows
 * the plugins found so far (duplicates are decided as before) and has the
 * host table an init may use, and no helper executable has to be found
 * beside the library or the Python module. Discovery runs before any
 * model or thread of ours exists (the command line, the Python module's
 * first use); the child touches only dlopen, malloc and stdio, which
 * glibc keeps usable after fork, and ends with _exit(), so it flushes and
 * destroys nothing of the parent's.
 */
#include "plugin_scan.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "membuf.h"
#include "params.h"
#include "plugin_load.h"
#include "plugin_signal.h"

/* ---- records ------------------------------------------------------------ */

typedef rsi_membuf buf;

static void put(buf *o, const void *data, size_t n)
{
    rsi_membuf_put(o, data, n); /* a failure sticks: checked once, later */
}

static void put_u32(buf *o, uint32_t v)
{
    put(o, &v, sizeof v);
}

static void put_f64(buf *o, double v)
{
    put(o, &v, sizeof v);
}

/* length (UINT32_MAX: NULL), bytes, '\0': read back in place */
static void put_str(buf *o, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
    put_u32(o, n);
    if (s)
        put(o, s, (size_t)n + 1);
}

/* What d declares (everything but code), for record(). */
static void serialise(buf *o, const rsi_plugin_descriptor *d)
{
    put_u32(o, (uint32_t)d->kind);
    put_u32(o, d->abi_major);
    put_u32(o, d->abi_minor);
    put_str(o, d->name);
    put_str(o, d->version);
    put_str(o, d->license);
    put_str(o, d->description);
    int n = rsi_params_count(d->params);
    put_u32(o, (uint32_t)n);
    for (int k = 0; k < n; k++) {
        const rsi_param_spec *sp = &d->params[k];
        put_str(o, sp->name);
        put_u32(o, (uint32_t)sp->type);
        put_str(o, sp->default_value);
        put_str(o, sp->doc);
        put_f64(o, sp->min);
        put_f64(o, sp->max);
        put_u32(o, (uint32_t)sp->optional);
    }
}

typedef struct cursor {
    char *at, *end;
    int bad;
} cursor;

static void get(cursor *c, void *out, size_t n)
{
    if (c->bad || (size_t)(c->end - c->at) < n) {
        c->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, c->at, n);
    c->at += n;
}

static uint32_t get_u32(cursor *c)
{
    uint32_t v;
    get(c, &v, sizeof v);
    return v;
}

static double get_f64(cursor *c)
{
    double v;
    get(c, &v, sizeof v);
    return v;
}

static const char *get_str(cursor *c)
{
    uint32_t n = get_u32(c);
    if (c->bad || n == UINT32_MAX)
        return NULL;
    if ((size_t)(c->end - c->at) <= n || c->at[n] != '\0') {
        c->bad = 1;
        return NULL;
    }
    const char *s = c->at;
    c->at += (size_t)n + 1;
    return s;
}

/* The unloaded plugin a record (n bytes, copied) describes; NULL when out
 * of memory or malformed (with the error). */
static rsi_plugin *record(const char *data, size_t n, const char *path)
{
    rsi_plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->record = malloc(n ? n : 1)) || !(p->path = strdup(path))) {
        rsi_plugin_free(p);
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory loading plugins");
        return NULL;
    }
    memcpy(p->record, data, n);
    cursor c = {p->record, p->record + n, 0};
    rsi_plugin_descriptor *d = &p->scanned;
    d->kind = (rsi_plugin_kind)get_u32(&c);
    d->abi_major = get_u32(&c);
    d->abi_minor = get_u32(&c);
    d->name = get_str(&c);
    d->version = get_str(&c);
    d->license = get_str(&c);
    d->description = get_str(&c);
    uint32_t np = get_u32(&c);
    if (!c.bad && np > 0 && np < n)
        p->params = calloc((size_t)np + 1, sizeof *p->params);
    for (uint32_t k = 0; p->params && k < np; k++) {
        rsi_param_spec *sp = &p->params[k];
        sp->name = get_str(&c);
        sp->type = (rsi_param_type)get_u32(&c);
        sp->default_value = get_str(&c);
        sp->doc = get_str(&c);
        sp->min = get_f64(&c);
        sp->max = get_f64(&c);
        sp->optional = (int)get_u32(&c);
    }
    d->params = p->params;
    if (c.bad || !d->name || (np > 0 && !p->params) ||
        asprintf(&p->note, " in plugin '%s' (%s)\n", d->name, path) < 0) {
        p->note = NULL;
        rsi_plugin_free(p);
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "the plugin scanner's record of %s is unreadable "
                            "(out of memory?)",
                            path);
        return NULL;
    }
    p->desc = d;
    return p;
}

/* ---- the child ---------------------------------------------------------- */

enum {
    MSG_SCANNING = 'S',
    MSG_WARNING = 'W',
    MSG_PLUGIN = 'P',
    MSG_DONE = 'D',
    MSG_END = 'Z'
};
enum { HEADER = 9 }; /* type, index (u32), payload length (u32) */

static void send_msg(int fd, char type, int index, const char *data, size_t n)
{
    buf o = {0};
    put(&o, &type, 1);
    put_u32(&o, (uint32_t)index);
    put_u32(&o, (uint32_t)n);
    put(&o, data, n);
    if (o.failed)
        _exit(70); /* the parent blames the file being tried */
    for (size_t at = 0; at < o.n;) {
        ssize_t k = write(fd, o.data + at, o.n - at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            _exit(71);
        at += (size_t)k;
    }
    free(o.data);
}

/* Tries one file as the loader always has: warnings go to w; a usable
 * plugin's record to rec. */
static void try_file(rsi_registry *r, const char *path, FILE *w, buf *rec)
{
    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        rsi_plugin_warn(w, NULL, path, "cannot load: %s",
                        why ? why : "unknown");
        return;
    }
    const rsi_plugin_descriptor *d = dlsym(handle, RSI_PLUGIN_SYMBOL);
    const rsi_plugin *first = NULL;
    if (!d) {
        rsi_plugin_warn(w, NULL, path,
                        "no '%s' descriptor exported (not an rsicam plugin, "
                        "or not marked RSI_PLUGIN_EXPORT?)",
                        RSI_PLUGIN_SYMBOL);
    } else if (rsi_plugin_check(d, path, w) != 0) {
        /* warned */
    } else if ((first = rsi_registry_lookup(r, d->kind, d->name)) != NULL) {
        /* before init, so that a shadowed plugin's init never runs */
        rsi_plugin_warn(w, d->name, path,
                        "duplicate %s plugin; the one found first (%s) is used",
                        rsi_plugin_kind_name(d->kind), first->path);
    } else if (rsi_plugin_init(rsi_registry_host(r), d) != 0) {
        rsi_plugin_warn(w, d->name, path, "%s", rsi_error_message());
    } else {
        serialise(rec, d);
    }
    rsi_error_clear();
    dlclose(handle);
}

static _Noreturn void child(rsi_registry *r, char *const *files, int from,
                            int n, int fd)
{
    /* a crash here is the parent's to report, once: no line of ours, no
     * Python traceback from a handler inherited from the parent */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
        signal(fatal[i], SIG_DFL);
    /* what libraries print while loading is no part of our output */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    for (int i = from; i < n; i++) {
        send_msg(fd, MSG_SCANNING, i, NULL, 0);
        char *text = NULL;
        size_t size = 0;
        FILE *w = open_memstream(&text, &size);
        buf rec = {0};
        if (!w)
            _exit(72);
        try_file(r, files[i], w, &rec);
        fclose(w);
        if (rec.failed)
            _exit(73);
        if (size)
            send_msg(fd, MSG_WARNING, i, text, size);
        if (rec.n) {
            send_msg(fd, MSG_PLUGIN, i, rec.data, rec.n);
            /* later duplicates of it are decided here too */
            rsi_plugin *p = record(rec.data, rec.n, files[i]);
            if (!p || rsi_registry_append(r, p) != 0)
                _exit(74);
        }
        free(text);
        free(rec.data);
        send_msg(fd, MSG_DONE, i, NULL, 0);
    }
    send_msg(fd, MSG_END, n, NULL, 0);
    _exit(0);
}

/* ---- the parent --------------------------------------------------------- */

/* How long the child may stay silent, in seconds: one file's dlopen and
 * init say nothing until they end. Generous, since loading libtorch from
 * a cold network disk takes tens of seconds; but finite, since a
 * constructor may wait for ever (or, forked while another thread held
 * the loader's lock, dlopen may), and rsicam must then go on without that
 * file rather than wait with it. */
#define SILENCE_DEFAULT_S 120.0
#define SILENCE_ENV "RSICAM_PLUGIN_SCAN_TIMEOUT"

/* The limit in seconds, from SILENCE_ENV when set; -1 (error set) when
 * that is not a number of seconds. */
static double silence_limit(void)
{
    const char *v = getenv(SILENCE_ENV);
    if (!v || !*v)
        return SILENCE_DEFAULT_S;
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || *end || !(s > 0 && s <= 86400)) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            SILENCE_ENV ": expected seconds in (0, 86400], "
                                        "got '%s'",
                            v);
        return -1;
    }
    return s;
}

enum { READ_ENDED = 0, READ_FAILED = -1, READ_SILENT = 1 };

/* Everything the child wrote, until it closed the pipe (READ_ENDED) or
 * said nothing for limit_s seconds (READ_SILENT). */
static int read_all(int fd, buf *in, double limit_s)
{
    const int limit_ms = (int)(limit_s * 1000); /* <= 86400000 */
    char chunk[65536];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, limit_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            return READ_SILENT;
        ssize_t k = ready < 0 ? -1 : read(fd, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k == 0 && !in->failed ? READ_ENDED : READ_FAILED;
        put(in, chunk, (size_t)k);
    }
}

/* How a child ended: its wait status (-1: unknown), and the seconds of
 * silence after which it was stopped (0: it ended by itself). */
typedef struct child_end {
    int status;
    double silent_s;
} child_end;

/* How the child ended, for the culprit's warning. */
static void warn_culprit(FILE *w, const char *path, child_end end)
{
    int status = end.status;
    if (end.silent_s > 0) {
        rsi_plugin_warn(w, NULL, path,
                        "still loading after %g s, stopped (" SILENCE_ENV
                        " sets the limit)",
                        end.silent_s);
    } else if (status == -1) {
        rsi_plugin_warn(w, NULL, path, "ended the process while loading");
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *name = rsi_signal_name(sig);
        rsi_plugin_warn(w, NULL, path, "crashed while loading: signal %d (%s)",
                        sig, name ? name : strsignal(sig));
    } else {
        rsi_plugin_warn(w, NULL, path,
                        "ended the process while loading (exit status %d)",
                        WEXITSTATUS(status));
    }
}

/* Applies what one child sent; returns the index to go on from: n when
 * it finished, after the culprit when it died, or -1 (error set). */
static int apply(rsi_registry *r, char *const *files, int from, int n,
                 const buf *in, child_end end, FILE *w, int *added)
{
    int pending = -1, next = from;
    for (size_t at = 0; at + HEADER <= in->n;) {
        char type = in->data[at];
        uint32_t index, len;
        memcpy(&index, in->data + at + 1, 4);
        memcpy(&len, in->data + at + 5, 4);
        const char *data = in->data + at + HEADER;
        if (len > in->n - at - HEADER)
            break; /* cut short by the child's death */
        at += HEADER + len;
        if (type == MSG_END)
            return n;
        if (index < (uint32_t)from || index >= (uint32_t)n)
            break;
        if (type == MSG_SCANNING) {
            pending = (int)index;
        } else if (type == MSG_WARNING && w) {
            fwrite(data, 1, len, w);
            fflush(w);
        } else if (type == MSG_PLUGIN) {
            rsi_plugin *p = record(data, len, files[index]);
            if (!p || rsi_registry_append(r, p) != 0)
                return -1;
            ++*added;
        } else if (type == MSG_DONE) {
            pending = -1;
            next = (int)index + 1;
        }
    }
    if (pending >= 0) {
        warn_culprit(w, files[pending], end);
        return pending + 1;
    }
    if (next > from)
        return next;
    rsi_error_class_set(RSI_ERR_INTERNAL,
                        "the plugin scanner ended before trying %s "
                        "(status %d, silent %g s)",
                        files[from], end.status, end.silent_s);
    return -1;
}

/* One child from files[from]; returns where to go on from, or -1. */
static int scan_from(rsi_registry *r, char *const *files, int from, int n,
                     double limit_s, FILE *w, int *added)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "cannot start the plugin scanner: %s",
                            strerror(errno));
        return -1;
    }
    /* the child never flushes (it _exit()s), but a library it loads may
     * print: nothing of ours may be waiting in a buffer to come out twice */
    fflush(stdout);
    if (w)
        fflush(w);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child(r, files, from, n, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "cannot start the plugin scanner: %s",
                            strerror(errno));
        return -1;
    }
    buf in = {0};
    child_end end = {0, 0};
    int rc = read_all(fds[0], &in, limit_s);
    close(fds[0]);
    if (rc == READ_SILENT) {
        kill(pid, SIGKILL);
        end.silent_s = limit_s;
    }
    int got;
    while ((got = waitpid(pid, &end.status, 0)) < 0 && errno == EINTR)
        ;
    if (got < 0)
        end.status = -1; /* reaped elsewhere (SIGCHLD ignored): unknown */
    int next = -1;
    if (rc == READ_FAILED)
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory loading plugins");
    else
        next = apply(r, files, from, n, &in, end, w, added);
    free(in.data);
    return next;
}

int rsi_scan_files(rsi_registry *r, char *const *files, int n, FILE *w)
{
    const double limit_s = silence_limit();
    if (limit_s < 0)
        return -1;
    int added = 0;
    for (int from = 0; from < n;) {
        from = scan_from(r, files, from, n, limit_s, w, &added);
        if (from < 0)
            return -1;
    }
    return added;
}
