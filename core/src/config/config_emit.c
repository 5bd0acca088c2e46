/* rsicam — JSON values as YAML, through libyaml's emitter (see
 * config_emit.h). */
#include "config_emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "membuf.h"
#include "numbers.h"
#include "rsicam/error.h"

typedef rsi_membuf buffer;

static int put(buffer *b, const char *s, size_t n)
{
    return rsi_membuf_put(b, s, n);
}

static int write_handler(void *data, unsigned char *s, size_t n)
{
    return put(data, (const char *)s, n) == 0;
}

void rsi_format_double(double d, char *buf, size_t size)
{
    if (!isfinite(d)) {
        snprintf(buf, size, "%s", isnan(d) ? ".nan" : d > 0 ? ".inf" : "-.inf");
        return;
    }
    rsi_format_shortest(d, buf, size);
    /* "8" would read back as an integer */
    if (!strpbrk(buf, ".eE") && strlen(buf) + 3 < size)
        strcat(buf, ".0");
}

/* Whether a plain scalar with this text would read back as something
 * other than a string (YAML 1.1 as libyaml's users resolve it). */
static int looks_special(const char *s)
{
    static const char *const words[] = {
        "", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(s, words[i]) == 0)
            return 1;
    char *end;
    (void)strtod(s, &end);
    if (end != s && *end == '\0')
        return 1;
    return s[0] == '.' &&
           (strcasecmp(s, ".nan") == 0 || strcasecmp(s, ".inf") == 0);
}

static int scalar(yaml_emitter_t *em, const char *text, int is_string)
{
    yaml_event_t ev;
    int special = is_string && looks_special(text);
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text,
                                      (int)strlen(text), !special, 1,
                                      special ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                              : YAML_ANY_SCALAR_STYLE))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit(yaml_emitter_t *em, const json_t *v)
{
    yaml_event_t ev;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        /* short mappings of scalars read best on one line */
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                 YAML_BLOCK_MAPPING_STYLE) ||
            !yaml_emitter_emit(em, &ev))
            return -1;
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)v, key, value)
        {
            if (scalar(em, key, 1) < 0 || emit(em, value) < 0)
                return -1;
        }
        return yaml_mapping_end_event_initialize(&ev) &&
                       yaml_emitter_emit(em, &ev)
                   ? 0
                   : -1;
    }
    case JSON_ARRAY: {
        /* lists of scalars in flow style ([a, b]), others in block style */
        int flat = 1;
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            flat &= !json_is_object(item) && !json_is_array(item);
        }
        if (!yaml_sequence_start_event_initialize(
                &ev, NULL, NULL, 1,
                flat ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) ||
            !yaml_emitter_emit(em, &ev))
            return -1;
        json_array_foreach(v, i, item)
        {
            if (emit(em, item) < 0)
                return -1;
        }
        return yaml_sequence_end_event_initialize(&ev) &&
                       yaml_emitter_emit(em, &ev)
                   ? 0
                   : -1;
    }
    case JSON_STRING:
        return scalar(em, json_string_value(v), 1);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" PRId64, (int64_t)json_integer_value(v));
        return scalar(em, num, 0);
    case JSON_REAL:
        rsi_format_double(json_real_value(v), num, sizeof num);
        return scalar(em, num, 0);
    case JSON_TRUE:
        return scalar(em, "true", 0);
    case JSON_FALSE:
        return scalar(em, "false", 0);
    case JSON_NULL:
        return scalar(em, "null", 0);
    }
    return -1;
}

static int emit_document(yaml_emitter_t *em, const json_t *v)
{
    yaml_event_t ev;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
        !yaml_emitter_emit(em, &ev) ||
        !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        !yaml_emitter_emit(em, &ev) || emit(em, v) < 0 ||
        !yaml_document_end_event_initialize(&ev, 1) ||
        !yaml_emitter_emit(em, &ev) || !yaml_stream_end_event_initialize(&ev) ||
        !yaml_emitter_emit(em, &ev))
        return -1;
    return yaml_emitter_flush(em) ? 0 : -1;
}

char *rsi_yaml_from_json(const json_t *v, const char *comment)
{
    buffer b = {0};
    for (const char *p = comment; p && *p;) {
        size_t n = strcspn(p, "\n");
        put(&b, "# ", 2);
        put(&b, p, n);
        put(&b, "\n", 1);
        p += n + (p[n] == '\n');
    }
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em)) {
        free(b.data);
        rsi_error("out of memory");
        return NULL;
    }
    yaml_emitter_set_output(&em, write_handler, &b);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, 100);
    int rc = emit_document(&em, v);
    if (rc < 0 || b.failed) {
        rsi_error("cannot write YAML: %s",
                  em.problem ? em.problem : "out of memory");
        free(b.data);
        b.data = NULL;
    }
    yaml_emitter_delete(&em);
    return b.data;
}
