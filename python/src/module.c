/* rsicam._rsicam: the module, its errors and its small functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colormap.h"
#include "image.h"
#include "map_kinds.h"
#include "params.h"
#include "plugin_open.h"
#include "rsicam/error.h"
#include "rsicam/model.h"
#include "rsicam_py.h"

/* rsicam.Error and its subclasses, by the engine's error class. */
static PyObject *error_base;
static struct {
    int code;
    const char *name, *doc;
    PyObject *type;
} error_types[] = {
    {RSI_ERR_USAGE, "UsageError", "A bad argument or parameter value.", NULL},
    {RSI_ERR_INPUT, "InputError", "An unusable image or other input.", NULL},
    {RSI_ERR_MODEL, "ModelError", "A model file, layer, class or numerics.",
     NULL},
    {RSI_ERR_PLUGIN, "PluginError", "A plugin missing, broken or failing.",
     NULL},
    {RSI_ERR_OUTPUT, "OutputError", "Writing results failed.", NULL},
};
#define N_ERROR_TYPES ((int)(sizeof error_types / sizeof error_types[0]))

PyObject *rsipy_raise_class(int code, const char *message)
{
    PyObject *type = error_base;
    for (int i = 0; i < N_ERROR_TYPES; i++)
        if (error_types[i].code == code)
            type = error_types[i].type;
    /* the exit code the command would give, for scripts that mirror it */
    PyObject *exc = PyObject_CallFunction(type, "s", message);
    PyObject *value = PyLong_FromLong(code ? code : RSI_ERR_INTERNAL);
    if (exc && value && PyObject_SetAttrString(exc, "code", value) == 0)
        PyErr_SetObject(type, exc);
    Py_XDECREF(value);
    Py_XDECREF(exc);
    return NULL;
}

PyObject *rsipy_raise(void)
{
    const char *msg = rsi_error_message();
    rsipy_raise_class((int)rsi_error_get_class(), *msg ? msg : "failed");
    rsi_error_clear();
    return NULL;
}

/* ---- the registry ------------------------------------------------------ */

static rsi_registry *registry;

rsi_registry *rsipy_registry(void)
{
    if (registry) {
        /* an experiment's own registry may have been current meanwhile */
        rsi_registry_set_current(registry);
        return registry;
    }
    rsi_registry *r = rsi_registry_new();
    int rc = -1;
    if (r) {
        Py_BEGIN_ALLOW_THREADS;
        rc = rsi_registry_discover(r, NULL, 0, stderr);
        Py_END_ALLOW_THREADS;
    }
    if (rc < 0) {
        rsi_registry_free(r);
        if (!rsi_error_pending())
            rsi_error("out of memory");
        rsipy_raise();
        return NULL;
    }
    /* host->make_baseline looks plugins up here */
    rsi_registry_set_current(r);
    return registry = r;
}

/* ---- plugins() --------------------------------------------------------- */

static PyObject *param_dict(const rsi_param_spec *sp)
{
    PyObject *range = sp->min < sp->max
                          ? Py_BuildValue("(dd)", sp->min, sp->max)
                          : Py_NewRef(Py_None);
    if (!range)
        return NULL;
    return Py_BuildValue("{s:s,s:s,s:z,s:N,s:z}", "name", sp->name, "type",
                         rsi_param_type_name(sp->type), "default",
                         sp->default_value, "range", range, "doc", sp->doc);
}

static PyObject *plugin_dict(const rsi_plugin *p)
{
    const rsi_plugin_descriptor *d = p->desc;
    PyObject *params = PyList_New(0);
    for (int k = 0; params && k < rsi_params_count(d->params); k++) {
        PyObject *one = param_dict(&d->params[k]);
        if (!one || PyList_Append(params, one) < 0)
            Py_CLEAR(params);
        Py_XDECREF(one);
    }
    if (!params)
        return NULL;
    return Py_BuildValue(
        "{s:s,s:s,s:z,s:z,s:z,s:s,s:N}", "kind", rsi_plugin_kind_name(d->kind),
        "name", d->name, "version", d->version, "license", d->license,
        "description", d->description, "file", p->path, "params", params);
}

static PyObject *py_plugins(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    rsi_registry *r = rsipy_registry();
    PyObject *list = r ? PyList_New(0) : NULL;
    for (int i = 0; list && i < rsi_registry_count(r); i++) {
        PyObject *one = plugin_dict(rsi_registry_at(r, i));
        if (!one || PyList_Append(list, one) < 0)
            Py_CLEAR(list);
        Py_XDECREF(one);
    }
    return list;
}

/* ---- module_paths(model) ------------------------------------------------ */

static PyObject *py_module_paths(PyObject *self, PyObject *args)
{
    (void)self;
    const char *path, *plugin = "torchscript";
    if (!PyArg_ParseTuple(args, "s|s", &path, &plugin))
        return NULL;
    rsi_registry *r = rsipy_registry();
    if (!r)
        return NULL;
    rsi_model *model;
    Py_BEGIN_ALLOW_THREADS;
    model = rsi_model_open_file(r, plugin, path);
    Py_END_ALLOW_THREADS;
    if (!model)
        return rsipy_raise();
    int n = 0;
    const char *const *paths = rsi_model_module_paths(model, &n);
    PyObject *list = paths ? PyList_New(n) : NULL;
    for (int i = 0; list && i < n; i++) {
        PyObject *s = PyUnicode_FromString(paths[i]);
        if (!s)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, s);
    }
    const rsi_model_info *info = rsi_model_get_info(model);
    PyObject *out =
        list ? Py_BuildValue("(Nz)", list, info->default_layer) : NULL;
    if (!paths && !PyErr_Occurred())
        rsipy_raise();
    rsi_model_free(model);
    return out;
}

/* ---- image_at(source, name, width, height) ----------------------------- */

/* The image as the engine reads it at width x height: a file (source a
 * str) or H x W x 3 pixels (a C-contiguous uint8 or float32 buffer).
 * Returns the float32 H x W x 3 pixels as bytes. */
static PyObject *py_image_at(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *source;
    const char *name;
    int width, height;
    if (!PyArg_ParseTuple(args, "Osii", &source, &name, &width, &height))
        return NULL;
    rsi_image img = {0};
    int rc;
    if (PyUnicode_Check(source)) {
        const char *path = PyUnicode_AsUTF8(source);
        if (!path)
            return NULL;
        Py_BEGIN_ALLOW_THREADS;
        rc = rsi_image_read(path, width, height, &img);
        Py_END_ALLOW_THREADS;
    } else {
        Py_buffer view;
        if (PyObject_GetBuffer(source, &view,
                               PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            return NULL;
        const int is_float = strcmp(view.format, "f") == 0;
        if ((!is_float && strcmp(view.format, "B") != 0) || view.ndim != 3 ||
            view.shape[2] != 3 || view.shape[0] > INT32_MAX ||
            view.shape[1] > INT32_MAX) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_ValueError,
                            "image_at: expected H x W x 3 uint8 or float32");
            return NULL;
        }
        Py_BEGIN_ALLOW_THREADS;
        rc = rsi_image_from_pixels(view.buf, is_float, (int)view.shape[1],
                                   (int)view.shape[0], width, height, name,
                                   &img);
        Py_END_ALLOW_THREADS;
        PyBuffer_Release(&view);
    }
    if (rc < 0)
        return rsipy_raise();
    PyObject *out = Py_BuildValue(
        "(y#ii)", (const char *)img.data,
        (Py_ssize_t)((size_t)img.width * img.height * 3 * sizeof(float)),
        img.height, img.width);
    rsi_image_release(&img);
    return out;
}

/* ---- overlay(image, heatmap, alpha) -------------------------------------- */

int rsipy_float_buffer(PyObject *obj, int channels, const char *what,
                       Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const int ndim = channels ? 3 : 2;
    if (strcmp(view->format, "f") == 0 && view->ndim == ndim &&
        (!channels || view->shape[2] == channels) && view->shape[0] > 0 &&
        view->shape[1] > 0 && view->shape[0] <= INT32_MAX &&
        view->shape[1] <= INT32_MAX)
        return 0;
    PyBuffer_Release(view);
    PyErr_Format(PyExc_ValueError, "%s: expected %s float32", what,
                 channels ? "H x W x 3" : "H x W");
    return -1;
}

/* The overlay the command writes as STEM.png: (1 - alpha) image + alpha
 * jet(heatmap), as H x W x 3 uint8 bytes. */
static PyObject *py_overlay(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *image, *heatmap;
    float alpha;
    Py_buffer im, heat;
    if (!PyArg_ParseTuple(args, "OOf", &image, &heatmap, &alpha) ||
        rsipy_float_buffer(image, 3, "overlay", &im) < 0)
        return NULL;
    if (rsipy_float_buffer(heatmap, 0, "overlay", &heat) < 0) {
        PyBuffer_Release(&im);
        return NULL;
    }
    PyObject *out = NULL;
    if (im.shape[0] != heat.shape[0] || im.shape[1] != heat.shape[1]) {
        PyErr_SetString(PyExc_ValueError,
                        "overlay: the image and the heatmap differ in size");
    } else if ((out = PyBytes_FromStringAndSize(NULL, heat.len / 4 * 3))) {
        const rsi_image img = {.width = (int)im.shape[1],
                               .height = (int)im.shape[0],
                               .data = im.buf};
        rsi_overlay_jet(&img, heat.buf, alpha,
                        (uint8_t *)PyBytes_AS_STRING(out));
    }
    PyBuffer_Release(&im);
    PyBuffer_Release(&heat);
    return out;
}

/* What the command does for its process before any work (core/cli/main.c):
 * large CPU tensors in huge pages kept for reuse, and the graph executor
 * chosen per device. Both are the whole process's, so the package leaves
 * them to the user (rsicam.use_command_settings). */
static PyObject *py_use_command_settings(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (rsi_torch_use_huge_pages() < 0 || rsi_torch_set_executor("auto") < 0)
        return rsipy_raise();
    return Py_BuildValue("{s:O,s:s}", "huge_pages",
                         rsi_torch_huge_pages() ? Py_True : Py_False,
                         "executor", "auto");
}

/* ---- the module ---------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"plugins", py_plugins, METH_NOARGS,
     "plugins() -> list of dicts: every plugin found, with its parameters"},
    {"module_paths", py_module_paths, METH_VARARGS,
     "module_paths(model_file[, plugin]) -> (paths, default_layer)"},
    {"image_at", py_image_at, METH_VARARGS,
     "image_at(path_or_pixels, name, width, height) -> (bytes, h, w)"},
    {"overlay", py_overlay, METH_VARARGS,
     "overlay(image_f32, heatmap_f32, alpha) -> H x W x 3 uint8 bytes"},
    {"use_command_settings", py_use_command_settings, METH_NOARGS,
     "use_command_settings() -> what is in force: the command's process "
     "settings"},
    {"run", rsipy_run, METH_VARARGS,
     "run(config, overrides, quiet) -> the experiment's output directory"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_rsicam",
    "rsicam's engine (librsicam) for Python; use the rsicam package.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int add_errors(PyObject *m)
{
    error_base = PyErr_NewExceptionWithDoc(
        "rsicam.Error", "An rsicam failure; .code is the command's exit code.",
        NULL, NULL);
    if (!error_base || PyModule_AddObjectRef(m, "Error", error_base) < 0)
        return -1;
    for (int i = 0; i < N_ERROR_TYPES; i++) {
        char qualified[64];
        snprintf(qualified, sizeof qualified, "rsicam.%s", error_types[i].name);
        /* .code as a class attribute too, so that errors the package
         * raises itself (bad Python inputs) carry it as the engine's do */
        PyObject *attrs = Py_BuildValue("{s:i}", "code", error_types[i].code);
        error_types[i].type =
            attrs ? PyErr_NewExceptionWithDoc(qualified, error_types[i].doc,
                                              error_base, attrs)
                  : NULL;
        Py_XDECREF(attrs);
        if (!error_types[i].type ||
            PyModule_AddObjectRef(m, error_types[i].name, error_types[i].type) <
                0)
            return -1;
    }
    return 0;
}

/* A tuple of n names as the module's attribute key. */
static int add_names(PyObject *m, const char *key, const char *const *names,
                     int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, s);
    }
    int rc = t ? PyModule_AddObjectRef(m, key, t) : -1;
    Py_XDECREF(t);
    return rc;
}

/* METHODS, VARIANTS and SCORES: the engine's names in bit order
 * (map_kinds.h), so that the package does not keep lists of its own. */
static int add_choices(PyObject *m)
{
    const char *method_names[RSI_MAP_KINDS_MAX], *variants[RSI_MAP_KINDS_MAX];
    const int n_methods = rsi_map_methods(method_names);
    const int n_variants = rsi_map_variants(variants);
    return add_names(m, "METHODS", method_names, n_methods) < 0 ||
                   add_names(m, "VARIANTS", variants, n_variants) < 0 ||
                   add_names(m, "SCORES", rsi_score_kind_names(),
                             RSI_SCORE_KINDS) < 0
               ? -1
               : 0;
}

PyMODINIT_FUNC PyInit__rsicam(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (m &&
        (add_errors(m) < 0 || add_choices(m) < 0 || rsipy_add_explainer(m) < 0))
        Py_CLEAR(m);
    return m;
}
