/* rsicam._rsicam.run: an experiment file, as `rsicam run` runs it
 * (core/cli/run.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "rsicam/error.h"
#include "rsicam_py.h"

/* Every problem the check found, as the command prints them, then the
 * command's last line; raised as a UsageError. */
static PyObject *raise_problems(rsi_diag *d, const char *config)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return PyErr_NoMemory();
    rsi_diag_print(d, "", f);
    fprintf(f, "%d problem%s in %s; nothing was run", d->n,
            d->n == 1 ? "" : "s", config);
    fclose(f);
    rsipy_raise_class(RSI_ERR_USAGE, text);
    free(text);
    return NULL;
}

/* The overrides ("KEY=VALUE" str) as a C array (strings borrowed from
 * the list, which the caller keeps). */
static const char **override_array(PyObject *list, Py_ssize_t *n)
{
    *n = PyList_Size(list);
    if (*n < 0)
        return NULL;
    const char **out = calloc((size_t)*n + 1, sizeof *out);
    if (!out) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < *n; i++)
        if (!(out[i] = PyUnicode_AsUTF8(PyList_GET_ITEM(list, i)))) {
            free(out);
            return NULL;
        }
    return out;
}

/* SIGINT or SIGTERM stopped the run between units (rsi_experiment_run
 * caught it, wrote run.json "interrupted" and put the handlers back; the
 * units done are kept, a rerun resumes): as Python would have without
 * the run, SIGINT is a KeyboardInterrupt and SIGTERM is sent again to
 * whatever handles it now (the default ends the process). */
static void interrupted(int sig)
{
    if (sig == SIGTERM) {
        raise(SIGTERM);
        if (PyErr_CheckSignals() < 0)
            return;
    }
    const char *why = sig == SIGINT
                          ? "rsicam.run: interrupted by SIGINT between units; "
                            "the units done are kept, run it again to resume"
                          : "rsicam.run: stopped by SIGTERM between units; "
                            "the units done are kept, run it again to resume";
    if (sig == SIGINT)
        PyErr_SetString(PyExc_KeyboardInterrupt, why);
    else
        rsipy_raise_class(128 + SIGTERM, why); /* as the command exits */
}

PyObject *rsipy_run(PyObject *self, PyObject *args)
{
    (void)self;
    const char *config;
    PyObject *overrides;
    int quiet = 1;
    if (!PyArg_ParseTuple(args, "sO!|p", &config, &PyList_Type, &overrides,
                          &quiet))
        return NULL;
    Py_ssize_t n = 0;
    const char **items = override_array(overrides, &n);
    if (!items)
        return NULL;
    rsi_diag d = {0};
    rsi_experiment *xp;
    int rc = -1;
    Py_BEGIN_ALLOW_THREADS;
    xp = rsi_experiment_load(config, items, (int)n, NULL, 0, &d);
    if (xp) {
        rsi_run_options ro = {.shard_k = 1, .shard_n = 1, .quiet = quiet};
        rsi_run_stats stats;
        rc = rsi_experiment_run(xp, &ro, &stats);
    }
    Py_END_ALLOW_THREADS;
    free(items);
    PyObject *out = NULL;
    if (!xp && d.n) {
        rsi_error_clear();
        raise_problems(&d, config);
    } else if (rc < 0) {
        rsipy_raise();
    } else if (rc > 128) {
        interrupted(rc - 128);
    } else {
        /* rc > 0: some images failed; their records say why */
        out = Py_BuildValue("(si)", xp->output, rc);
    }
    rsi_diag_free(&d);
    rsi_experiment_free(xp);
    /* the experiment's registry was the current one until freed */
    rsi_registry *r = rsipy_registry();
    if (!r)
        Py_CLEAR(out);
    return out;
}
