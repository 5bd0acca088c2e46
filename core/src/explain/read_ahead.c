/* rsicam — reading the next image ahead (see read_ahead.h). */
#include "read_ahead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

static void *read_main(void *arg)
{
    rsi_read_ahead *a = arg;
    if (!(a->x = rsi_input_read(a->path, a->info, &a->img)))
        rsi_error_keep(&a->error);
    return NULL;
}

void rsi_read_ahead_drop(rsi_read_ahead *a)
{
    if (a->started)
        pthread_join(a->thread, NULL);
    rsi_tensor_free(a->x);
    rsi_image_release(&a->img);
    free(a->path);
    a->x = NULL;
    a->path = NULL;
    a->started = 0;
}

void rsi_read_ahead_start(rsi_read_ahead *a, const char *path,
                          const rsi_model_info *info)
{
    rsi_read_ahead_drop(a);
    if (!path || !(a->path = strdup(path)))
        return; /* nothing read ahead: the image is read when its turn comes */
    a->info = info;
    a->started = pthread_create(&a->thread, NULL, read_main, a) == 0;
    if (!a->started) {
        free(a->path);
        a->path = NULL;
    }
}

int rsi_read_ahead_take(rsi_read_ahead *a, const char *path, rsi_image *img,
                        rsi_tensor **x)
{
    if (!a->started || strcmp(a->path, path) != 0)
        return 0;
    pthread_join(a->thread, NULL);
    a->started = 0;
    int rc = 1;
    if (a->x) {
        *x = a->x;
        *img = a->img;
        a->x = NULL;
        a->img = (rsi_image){0};
    } else {
        rsi_error_raise(&a->error);
        rc = -1;
    }
    rsi_read_ahead_drop(a);
    return rc;
}
