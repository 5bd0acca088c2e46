/* rsicam._rsicam.Explainer: rsi_explainer (explain.h) for Python.
 *
 * Made as `rsicam explain` makes its explainer (core/cli/explain.c):
 * plugins by spec, the model through its plugin, device, precision and
 * preprocessing overrides, the model's default layer. Images are queued
 * by path or as pixels already at the model's size; next() explains the
 * oldest and returns its records as JSON text. The caller (rsicam's
 * Python layer) checks for Ctrl-C between images.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "fileio.h"
#include "model_info.h"
#include "plugin_open.h"
#include "results.h"
#include "rsicam/error.h"
#include "rsicam_py.h"

typedef struct explainer_obj {
    PyObject ob_base; /* PyObject_HEAD */
    rsi_model *model;
    rsi_explainer *e;
    /* what the options point to, kept for the explainer's life */
    char **layers;
    int n_layers;
    int64_t classes[RSI_EXPLAIN_MAX_CLASSES];
    char *baseline_params, *path_params, *out_dir, *model_name;
} explainer_obj;

static void release(explainer_obj *self)
{
    rsi_explainer_free(self->e);
    rsi_model_free(self->model);
    for (int i = 0; i < self->n_layers; i++)
        free(self->layers[i]);
    free(self->layers);
    free(self->baseline_params);
    free(self->path_params);
    free(self->out_dir);
    free(self->model_name);
    self->e = NULL;
    self->model = NULL;
    self->layers = NULL;
    self->n_layers = 0;
    self->baseline_params = self->path_params = NULL;
    self->out_dir = self->model_name = NULL;
}

static void explainer_dealloc(explainer_obj *self)
{
    PyTypeObject *type = Py_TYPE(self); /* a heap type: it has a reference */
    release(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* A sequence of int (or None: *n = 0) into out, at most
 * RSI_EXPLAIN_MAX_CLASSES of them; *n counts them all, for the engine to
 * refuse too many. */
static int take_classes(PyObject *seq, int64_t *out, int *n)
{
    *n = 0;
    if (seq == Py_None)
        return 0;
    PyObject *fast = PySequence_Fast(seq, "classes: expected ints");
    if (!fast)
        return -1;
    const Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    *n = len > INT_MAX ? INT_MAX : (int)len;
    for (int i = 0; i < *n && i < RSI_EXPLAIN_MAX_CLASSES; i++)
        out[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(fast, i));
    Py_DECREF(fast);
    return PyErr_Occurred() ? -1 : 0;
}

/* Copies a sequence of str into self->layers. */
static int take_layers(explainer_obj *self, PyObject *seq)
{
    PyObject *fast = PySequence_Fast(seq, "layers: expected a list of str");
    if (!fast)
        return -1;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    self->layers = calloc((size_t)n + 1, sizeof *self->layers);
    int rc = self->layers ? 0 : -1;
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(fast, i));
        if (!s || !(self->layers[i] = strdup(s)))
            rc = -1;
        else
            self->n_layers++;
    }
    Py_DECREF(fast);
    if (rc < 0 && !PyErr_Occurred())
        PyErr_NoMemory();
    return rc;
}

/* The command's preprocessing overrides (--input-size, --mean, --std,
 * --labels), each None or given. */
static int apply_overrides(rsi_model_info *info, PyObject *size, PyObject *mean,
                           PyObject *std, const char *labels_file)
{
    if (size != Py_None &&
        !PyArg_ParseTuple(size, "LL", &info->input_h, &info->input_w))
        return -1;
    if (mean != Py_None && !PyArg_ParseTuple(mean, "ddd", &info->mean[0],
                                             &info->mean[1], &info->mean[2]))
        return -1;
    if (std != Py_None && !PyArg_ParseTuple(std, "ddd", &info->std[0],
                                            &info->std[1], &info->std[2]))
        return -1;
    if (labels_file && rsi_model_info_read_labels(info, labels_file) < 0) {
        rsipy_raise();
        return -1;
    }
    return 0;
}

/* Plugins, model, device and precision; -1 with the engine's error. */
static int open_all(explainer_obj *self, const char *model_file,
                    const char *model_plugin, const char *baseline,
                    const char *path, const char *device, const char *precision,
                    int threads, const rsi_plugin **baseline_plugin,
                    const rsi_plugin **path_plugin)
{
    rsi_registry *r = rsipy_registry();
    if (!r)
        return -2; /* a Python error is set */
    int ok;
    Py_BEGIN_ALLOW_THREADS;
    ok = rsi_torch_set_threads(threads) == 0 &&
         (*baseline_plugin =
              rsi_plugin_open_spec(r, RSI_PLUGIN_BASELINE, baseline,
                                   &self->baseline_params)) != NULL &&
         (*path_plugin = rsi_plugin_open_spec(r, RSI_PLUGIN_PATH, path,
                                              &self->path_params)) != NULL &&
         (self->model = rsi_model_open_file(r, model_plugin, model_file)) &&
         rsi_model_set_device(self->model, device) == 0 &&
         rsi_model_set_precision(self->model, precision) == 0;
    Py_END_ALLOW_THREADS;
    return ok ? 0 : -1;
}

static int explainer_init(explainer_obj *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {
        "model",    "out_dir",     "model_name",   "layers",     "methods",
        "variants", "scores",      "classes",      "top_k",      "steps",
        "tol",      "max_steps",   "batch",        "baseline",   "path",
        "device",   "precision",   "threads",      "input_size", "mean",
        "std",      "labels_file", "model_plugin", NULL};
    const char *model_file, *out_dir, *model_name;
    PyObject *layers = Py_None, *classes = Py_None, *size = Py_None,
             *mean = Py_None, *std = Py_None;
    /* the first method, variant and score kind (map_kinds.h) */
    int methods = 1, variants = 1, scores = 1, top_k = 1, threads = 0;
    long long steps = 50, max_steps = 256, batch = 0;
    double tol = 0;
    const char *baseline = "zero", *path = "linear", *device = "cpu",
               *precision = "fp32", *labels_file = NULL,
               *model_plugin = NULL; /* by the file's name */
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "sss|$OiiiOiLdLLssssiOOOzs", names, &model_file, &out_dir,
            &model_name, &layers, &methods, &variants, &scores, &classes,
            &top_k, &steps, &tol, &max_steps, &batch, &baseline, &path, &device,
            &precision, &threads, &size, &mean, &std, &labels_file,
            &model_plugin))
        return -1;
    release(self);
    int n_classes = 0;
    if (take_classes(classes, self->classes, &n_classes) < 0)
        return -1;
    if (!(self->out_dir = strdup(out_dir)) ||
        !(self->model_name = strdup(model_name)))
        return PyErr_NoMemory(), -1;
    const rsi_plugin *baseline_plugin = NULL, *path_plugin = NULL;
    int rc = open_all(self, model_file, model_plugin, baseline, path, device,
                      precision, threads, &baseline_plugin, &path_plugin);
    if (rc == -1)
        rsipy_raise();
    if (rc < 0)
        return -1;
    rsi_model_info *info = rsi_model_get_info(self->model);
    if (apply_overrides(info, size, mean, std, labels_file) < 0)
        return -1;
    PyObject *default_layers = NULL;
    if (layers == Py_None && !info->default_layer) {
        rsipy_raise_class(RSI_ERR_USAGE, "explain: layers are required (the "
                                         "model names no default layer)");
        return -1;
    }
    if (layers == Py_None &&
        !(layers = default_layers = Py_BuildValue("[s]", info->default_layer)))
        return -1;
    rc = take_layers(self, layers);
    Py_XDECREF(default_layers);
    if (rc < 0)
        return -1;
    if (rsi_mkdir_p(self->out_dir) < 0) {
        rsipy_raise();
        return -1;
    }
    const rsi_explain_options opt = {
        .layers = (const char *const *)self->layers,
        .n_layers = self->n_layers,
        .methods = methods,
        .variants = variants,
        .score_kinds = scores,
        .classes = n_classes ? self->classes : NULL,
        .n_classes = n_classes,
        .top_k = top_k,
        .steps = steps,
        .tol = tol,
        .max_steps = max_steps,
        .batch = batch,
        .baseline = baseline_plugin,
        .baseline_params = self->baseline_params,
        .path = path_plugin,
        .path_params = self->path_params,
        .out_dir = self->out_dir,
        .model_name = self->model_name,
        /* the maps come back to Python; PNGs are made there on demand */
        .files = RSI_FILE_CAM | RSI_FILE_HEATMAP,
    };
    Py_BEGIN_ALLOW_THREADS;
    self->e = rsi_explainer_new(self->model, &opt);
    Py_END_ALLOW_THREADS;
    if (!self->e) {
        rsipy_raise();
        return -1;
    }
    return 0;
}

static PyObject *no_explainer(void)
{
    return rsipy_raise_class(RSI_ERR_USAGE, "explainer: closed");
}

/* queue(path, stem=None, classes=None) */
static PyObject *explainer_queue(explainer_obj *self, PyObject *args)
{
    const char *path, *stem = NULL;
    PyObject *classes = Py_None;
    int64_t asked[RSI_EXPLAIN_MAX_CLASSES];
    rsi_image_request req = {.label = -1, .classes = asked};
    if (!PyArg_ParseTuple(args, "s|zO", &path, &stem, &classes) ||
        take_classes(classes, asked, &req.n_classes) < 0)
        return NULL;
    if (!self->e)
        return no_explainer();
    req.stem = stem;
    if (rsi_explainer_queue(self->e, path, &req) < 0)
        return rsipy_raise();
    Py_RETURN_NONE;
}

/* queue_image(pixels, name, stem=None, classes=None): H x W x 3 float32
 * in [0, 1] at the model's input size (rsicam._rsicam.image_at makes
 * them). */
static PyObject *explainer_queue_image(explainer_obj *self, PyObject *args)
{
    PyObject *pixels, *classes = Py_None;
    const char *name, *stem = NULL;
    int64_t asked[RSI_EXPLAIN_MAX_CLASSES];
    rsi_image_request req = {.label = -1, .classes = asked};
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "Os|zO", &pixels, &name, &stem, &classes) ||
        take_classes(classes, asked, &req.n_classes) < 0)
        return NULL;
    if (!self->e)
        return no_explainer();
    req.stem = stem;
    if (rsipy_float_buffer(pixels, 3, "queue_image", &view) < 0)
        return NULL;
    rsi_image img = {.width = (int)view.shape[1],
                     .height = (int)view.shape[0],
                     .data = malloc((size_t)view.len)};
    PyObject *out = NULL;
    if (!img.data) {
        PyErr_NoMemory();
    } else {
        memcpy(img.data, view.buf, (size_t)view.len);
        if (rsi_explainer_queue_image(self->e, &img, name, &req) < 0)
            rsipy_raise();
        else
            out = Py_NewRef(Py_None);
    }
    rsi_image_release(&img); /* zeroed when queued */
    PyBuffer_Release(&view);
    return out;
}

/* next() -> the oldest queued image's records as JSON text; a failed
 * image raises its error (the command's message and class). */
static PyObject *explainer_next(explainer_obj *self, PyObject *unused)
{
    (void)unused;
    if (!self->e)
        return no_explainer();
    json_t *records = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS;
    rc = rsi_explain_next_records(self->e, &records);
    Py_END_ALLOW_THREADS;
    char *text = rc == 0 && records ? json_dumps(records, JSON_COMPACT) : NULL;
    json_decref(records);
    if (rc < 0)
        return rsipy_raise();
    if (!text)
        return PyErr_NoMemory();
    PyObject *out = PyUnicode_FromString(text);
    free(text);
    return out;
}

/* drop(): forgets the images queued and not yet returned, and the map
 * files written ahead for them; the model stays open. */
static PyObject *explainer_drop(explainer_obj *self, PyObject *unused)
{
    (void)unused;
    if (!self->e)
        return no_explainer();
    Py_BEGIN_ALLOW_THREADS; /* joins the threads that read and write */
    rsi_explainer_drop_queued(self->e);
    Py_END_ALLOW_THREADS;
    Py_RETURN_NONE;
}

/* info() -> the model's preprocessing after the overrides. */
static PyObject *explainer_info(explainer_obj *self, PyObject *unused)
{
    (void)unused;
    if (!self->model)
        return no_explainer();
    const rsi_model_info *info = rsi_model_get_info(self->model);
    PyObject *labels = PyList_New(0);
    for (int64_t i = 0; labels && i < info->num_labels; i++) {
        PyObject *s = PyUnicode_FromString(info->labels[i]);
        if (!s || PyList_Append(labels, s) < 0)
            Py_CLEAR(labels);
        Py_XDECREF(s);
    }
    if (!labels)
        return NULL;
    return Py_BuildValue("{s:(LL),s:(ddd),s:(ddd),s:N,s:z}", "input_size",
                         (long long)info->input_h, (long long)info->input_w,
                         "mean", info->mean[0], info->mean[1], info->mean[2],
                         "std", info->std[0], info->std[1], info->std[2],
                         "labels", labels, "default_layer",
                         info->default_layer);
}

/* close(): frees the explainer and the model now (also on collection). */
static PyObject *explainer_close(explainer_obj *self, PyObject *unused)
{
    (void)unused;
    Py_BEGIN_ALLOW_THREADS; /* joins the threads that write files */
    rsi_explainer_free(self->e);
    Py_END_ALLOW_THREADS;
    self->e = NULL;
    release(self);
    Py_RETURN_NONE;
}

static PyMethodDef explainer_methods[] = {
    {"queue", (PyCFunction)explainer_queue, METH_VARARGS,
     "queue(path, stem=None, classes=None): an image file to explain"},
    {"queue_image", (PyCFunction)explainer_queue_image, METH_VARARGS,
     "queue_image(pixels, name, stem=None, classes=None): float32 H x W x 3 "
     "at the model's size"},
    {"next", (PyCFunction)explainer_next, METH_NOARGS,
     "next() -> JSON text: the oldest queued image's records"},
    {"drop", (PyCFunction)explainer_drop, METH_NOARGS,
     "drop(): forget the images queued and not yet returned"},
    {"info", (PyCFunction)explainer_info, METH_NOARGS,
     "info() -> the model's preprocessing and labels"},
    {"close", (PyCFunction)explainer_close, METH_NOARGS,
     "close(): free the engine now"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot explainer_slots[] = {
    {Py_tp_doc, "The engine's explainer: one model, one set of options."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, explainer_init},
    {Py_tp_dealloc, explainer_dealloc},
    {Py_tp_methods, explainer_methods},
    {0, NULL},
};

static PyType_Spec explainer_spec = {
    .name = "rsicam._rsicam.Explainer",
    .basicsize = sizeof(explainer_obj),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = explainer_slots,
};

int rsipy_add_explainer(PyObject *module)
{
    PyObject *type = PyType_FromSpec(&explainer_spec);
    if (!type)
        return -1;
    int rc = PyModule_AddObjectRef(module, "Explainer", type);
    Py_DECREF(type);
    return rc;
}
