/* rsicam's Python extension (_rsicam): what its files share.
 *
 *   module.c      the module: errors, the plugin registry, plugins(),
 *                 module_paths(), image_at(), overlay()
 *   explainer.c   the Explainer type over rsi_explainer (explain.h)
 *   experiment.c  run(): an experiment file (experiment.h)
 *
 * Every call into the engine runs with the GIL released; the engine keeps
 * its error in a thread-local buffer, which the same thread reads back
 * here once it holds the GIL again.
 */
#ifndef RSICAM_PY_H
#define RSICAM_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "plugin_registry.h"

/* Raises the engine's pending error as the rsicam.Error subclass of its
 * class, with the message the command line prints, and clears it.
 * Returns NULL. */
PyObject *rsipy_raise(void);
/* Raises rsicam.UsageError (or the class of exit code code) with a
 * message; returns NULL. */
PyObject *rsipy_raise_class(int code, const char *message);

/* The process's plugin registry, discovered on first use (as the command
 * does without --plugin-path: RSICAM_PLUGIN_PATH, the build tree, the
 * install prefix). NULL with a Python error. Needs the GIL. */
rsi_registry *rsipy_registry(void);

/* A C-contiguous float32 buffer of obj: H x W x 3 pixels (channels 3)
 * or an H x W map (channels 0). 0, or -1 with a ValueError naming what. */
int rsipy_float_buffer(PyObject *obj, int channels, const char *what,
                       Py_buffer *view);

/* Adds the Explainer type to the module; -1 with a Python error. */
int rsipy_add_explainer(PyObject *module);

/* run(config, overrides, quiet) -> the output directory. */
PyObject *rsipy_run(PyObject *self, PyObject *args);

#endif
