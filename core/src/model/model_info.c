/* rsicam — parsing a model's rsicam.json metadata. */
#include "model_info.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numbers.h"
#include "regular_file.h"
#include "rsicam/error.h"

static const double imagenet_mean[3] = {0.485, 0.456, 0.406};
static const double imagenet_std[3] = {0.229, 0.224, 0.225};

/* Keras's preprocessing modes (keras.applications' preprocess_input), as
 * rsicam's normalisation (x - mean) / std of x in [0, 1]: "caffe" is BGR,
 * 0..255 minus the ImageNet mean in BGR; "tf" is -1..1; "torch" is
 * ImageNet's mean and std. */
static int apply_mode(rsi_model_info *info, const char *mode)
{
    static const double caffe_bgr_mean[3] = {103.939, 116.779, 123.68};
    if (!strcmp(mode, "caffe")) {
        for (int k = 0; k < 3; k++) {
            info->mean[k] = caffe_bgr_mean[k] / 255.0;
            info->std[k] = 1.0 / 255.0;
        }
        info->bgr = 1;
    } else if (!strcmp(mode, "tf")) {
        for (int k = 0; k < 3; k++)
            info->mean[k] = info->std[k] = 0.5;
        info->bgr = 0;
    } else if (!strcmp(mode, "torch")) {
        memcpy(info->mean, imagenet_mean, sizeof(info->mean));
        memcpy(info->std, imagenet_std, sizeof(info->std));
        info->bgr = 0;
    } else {
        return -1;
    }
    return 0;
}

int rsi_channel_order_parse(const char *text, int *bgr)
{
    if (!strcmp(text, "rgb") || !strcmp(text, "bgr")) {
        *bgr = !strcmp(text, "bgr");
        return 0;
    }
    return -1;
}

void rsi_model_info_init(rsi_model_info *info)
{
    memset(info, 0, sizeof(*info));
    info->input_h = 224;
    info->input_w = 224;
    memcpy(info->mean, imagenet_mean, sizeof(info->mean));
    memcpy(info->std, imagenet_std, sizeof(info->std));
}

static void free_labels(rsi_model_info *info)
{
    for (int64_t i = 0; i < info->num_labels; i++)
        free(info->labels[i]);
    free(info->labels);
    info->labels = NULL;
    info->num_labels = 0;
}

void rsi_model_info_release(rsi_model_info *info)
{
    free_labels(info);
    free(info->default_layer);
    info->default_layer = NULL;
}

static int bad(const char *path, const char *what)
{
    rsi_error_class_set(RSI_ERR_MODEL, "model '%s': %s in %s", path, what,
                        RSI_MODEL_EXTRA_FILE);
    return -1;
}

/* Reads a JSON array of 3 numbers within [min, max]. */
static int read_triple(json_t *arr, double out[3], double min, double max)
{
    if (!json_is_array(arr) || json_array_size(arr) != 3)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_number(v))
            return -1;
        double d = json_number_value(v);
        if (!isfinite(d) || d < min || d > max)
            return -1;
        out[i] = d;
    }
    return 0;
}

static int read_labels(rsi_model_info *info, json_t *arr)
{
    size_t n = json_array_size(arr);
    char **labels = calloc(n ? n : 1, sizeof(char *));
    if (!labels)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        labels[i] = strdup(s ? s : "");
        if (!labels[i]) {
            info->labels = labels;
            info->num_labels = (int64_t)i;
            return -1;
        }
    }
    free_labels(info);
    info->labels = labels;
    info->num_labels = (int64_t)n;
    return 0;
}

int rsi_model_info_parse(rsi_model_info *info, const char *json,
                         const char *model_path)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return bad(model_path, "not a JSON object");
    }
    int rc = -1;
    json_t *v;
    if ((v = json_object_get(root, "input_size"))) {
        json_t *h = json_array_get(v, 0), *w = json_array_get(v, 1);
        if (!json_is_array(v) || json_array_size(v) != 2 ||
            !json_is_integer(h) || !json_is_integer(w) ||
            json_integer_value(h) < 1 || json_integer_value(w) < 1 ||
            json_integer_value(h) > RSI_INPUT_SIDE_MAX ||
            json_integer_value(w) > RSI_INPUT_SIDE_MAX) {
            bad(model_path, "\"input_size\" is not [H, W]");
            goto out;
        }
        info->input_h = json_integer_value(h);
        info->input_w = json_integer_value(w);
    }
    /* a preprocessing mode first: "mean", "std" and "channel_order"
     * override its parts */
    if ((v = json_object_get(root, "preprocessing")) &&
        (!json_is_string(v) || apply_mode(info, json_string_value(v)) < 0)) {
        bad(model_path, "\"preprocessing\" is not one of \"caffe\", "
                        "\"tf\", \"torch\"");
        goto out;
    }
    if ((v = json_object_get(root, "channel_order")) &&
        (!json_is_string(v) ||
         rsi_channel_order_parse(json_string_value(v), &info->bgr) < 0)) {
        bad(model_path, "\"channel_order\" is not \"rgb\" or \"bgr\"");
        goto out;
    }
    if ((v = json_object_get(root, "mean")) &&
        read_triple(v, info->mean, -RSI_MEAN_ABS_MAX, RSI_MEAN_ABS_MAX) < 0) {
        bad(model_path, "\"mean\" is not 3 numbers in [-1e6, 1e6]");
        goto out;
    }
    if ((v = json_object_get(root, "std")) &&
        read_triple(v, info->std, RSI_STD_MIN, RSI_STD_MAX) < 0) {
        bad(model_path, "\"std\" is not 3 numbers in [1e-6, 1e6]");
        goto out;
    }
    if ((v = json_object_get(root, "labels"))) {
        if (!json_is_array(v) || read_labels(info, v) < 0) {
            bad(model_path, "\"labels\" is not a list of strings");
            goto out;
        }
    }
    if ((v = json_object_get(root, "default_layer")) && json_is_string(v)) {
        free(info->default_layer);
        info->default_layer = strdup(json_string_value(v));
    }
    if ((v = json_object_get(root, "temperature")) && json_is_number(v))
        info->temperature = json_number_value(v);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int rsi_model_info_read_labels(rsi_model_info *info, const char *path)
{
    char *text;
    size_t len;
    const char *why;
    if (rsi_read_regular(path, RSI_LABELS_MAX_BYTES, &text, &len, &why) < 0) {
        rsi_error_class_set(RSI_ERR_INPUT, "labels '%s': cannot read: %s", path,
                            why);
        return -1;
    }
    json_t *arr = json_array();
    for (char *line = text; arr && *line;) {
        size_t n = strcspn(line, "\n");
        char *next = line + n + (line[n] == '\n');
        line[n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
            line[n - 1] = '\0';
        /* jansson refuses text that is not UTF-8: a binary file */
        json_t *s = json_string(line);
        if (!s || json_array_append_new(arr, s) < 0) {
            json_decref(arr);
            arr = NULL;
        }
        line = next;
    }
    free(text);
    int rc = arr ? read_labels(info, arr) : -1;
    json_decref(arr);
    if (rc < 0)
        rsi_error_class_set(RSI_ERR_INPUT,
                            "labels '%s': not text of one name a line (UTF-8)",
                            path);
    return rc;
}
