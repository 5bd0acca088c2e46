/* rsicam — the HTML report's page: escaping, the tables, inline CSS and
 * JS (see report_html.h for what the page shows). */
#include "report_page.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "map_kinds.h"
#include "metrics.h"
#include "report_html.h"
#include "results.h"

const char *const rsi_report_key_names[RSI_REPORT_NKEYS] = {
    "setting", "model",  "layer",    "method", "variant",
    "score",   "target", "baseline", "path"};

/* Known metrics: display title and scale, in this order before the rest. */
static const struct known {
    const char *name, *title;
    double scale;
} known[] = {
    {"probability", "probability", 1},
    {"completeness_rel", "completeness gap (rel.) &darr;", 1},
    {RSI_METRIC_DELETION_AUC, "deletion AUC &darr;", 1},
    {RSI_METRIC_INSERTION_AUC, "insertion AUC &uarr;", 1},
    {RSI_METRIC_DROP, "Average Drop % &darr;", 100},
    {RSI_METRIC_INCREASED, "Increase in Confidence % &uarr;", 100},
    {"hit", "pointing game &uarr;", 1},
    {"energy", "energy in box &uarr;", 1},
};
enum { NKNOWN = sizeof known / sizeof known[0] };

int rsi_report_known_rank(const char *name)
{
    for (int i = 0; i < NKNOWN; i++)
        if (strcmp(name, known[i].name) == 0)
            return i;
    return -1;
}

int rsi_report_num_known(void)
{
    return NKNOWN;
}

const char *rsi_report_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int rsi_report_is_ok(json_t *o)
{
    return strcmp(rsi_report_str(o, "status"), "failed") != 0;
}

/* ---- Text ---------------------------------------------------------------- */

/* The entity for a character that must not appear as itself, or NULL. */
static const char *entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

char *rsi_html_escape(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += entity(*p) ? strlen(entity(*p)) : 1;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        const char *e = entity(*p);
        if (e)
            o = stpcpy(o, e);
        else
            *o++ = *p;
    }
    *o = '\0';
    return out;
}

static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        const char *e = entity(*s);
        if (e)
            fputs(e, f);
        else
            fputc(*s, f);
    }
}

/* A relative URL: every byte outside [A-Za-z0-9-._~/] percent-encoded, so
 * a name can neither leave the attribute nor become a scheme ("x:..."). */
static void put_url(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~/", c))
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ---- summary.csv -------------------------------------------------------- */

/* One CSV field (RFC 4180 quoting) from *p into buf; returns 1 when the
 * row goes on, 0 at its end, -1 at the end of the text. */
static int csv_field(const char **p, char *buf, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (!*s)
        return -1;
    int quoted = *s == '"';
    s += quoted;
    for (; *s; s++) {
        if (quoted && *s == '"' && s[1] == '"')
            s++;
        else if (quoted && *s == '"') {
            quoted = 0;
            continue;
        } else if (!quoted && (*s == ',' || *s == '\n' || *s == '\r'))
            break;
        if (n + 1 < cap)
            buf[n++] = *s;
    }
    buf[n] = '\0';
    int more = *s == ',';
    if (*s == '\r')
        s++;
    if (*s == '\n' || *s == ',')
        s++;
    *p = s;
    return more;
}

static void put_cell(FILE *f, const char *text)
{
    char *end;
    double d = strtod(text, &end);
    if (*text && *end == '\0' && isfinite(d))
        fprintf(f, "<td class=\"num\" data-v=\"%.17g\">", d);
    else
        fputs("<td>", f);
    put_text(f, text);
    fputs("</td>", f);
}

static void write_csv_table(FILE *f, const char *csv)
{
    char field[4096];
    const char *p = csv;
    fputs("<h2>summary.csv</h2>\n<div class=\"wide\"><table "
          "class=\"sortable\" id=\"summary\"><thead><tr>",
          f);
    int more = 1;
    while (more > 0 && (more = csv_field(&p, field, sizeof field)) >= 0) {
        fputs("<th tabindex=\"0\">", f);
        put_text(f, field);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    while (*p) {
        fputs("<tr>", f);
        do {
            more = csv_field(&p, field, sizeof field);
            if (more >= 0)
                put_cell(f, field);
        } while (more > 0);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

/* ---- Writing ------------------------------------------------------------ */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    /* Nothing but the page itself and its images may load: the report must
     * work offline and can never call out. */
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
    "'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<style>\n"
    /* The page fits a 1400-pixel window: long unbroken names wrap, images
     * shrink, and a table wider than the window (many settings, many
     * columns) scrolls in a box of its own instead of the whole page. */
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;"
    "max-width:1400px;overflow-wrap:anywhere}\n"
    ".wide{overflow-x:auto;max-width:100%}\n"
    "img{max-width:100%;height:auto}\n"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}\n"
    /* in a cell, wrapping anywhere would let the table squeeze its
     * columns to a letter each rather than scroll */
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
    "vertical-align:top;overflow-wrap:normal}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "table.sortable th{cursor:pointer;background:#f3f3f3;user-select:none}\n"
    "th[aria-sort=ascending]::after{content:' \\25B2'}\n"
    "th[aria-sort=descending]::after{content:' \\25BC'}\n"
    "table.thumbs img{width:128px;max-width:none;height:auto;"
    "image-rendering:pixelated;display:block}\n"
    "img.broken{width:128px;height:32px;outline:2px solid #c00}\n"
    ".facts{color:#555}\n"
    "</style>\n";

static const char page_script[] =
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  function key(cell) {\n"
    "    var v = cell ? cell.getAttribute('data-v') : null;\n"
    "    if (v !== null) return {num: true, v: parseFloat(v), empty: false};\n"
    "    var t = cell ? cell.textContent : '';\n"
    "    return {num: false, v: t, empty: t === ''};\n"
    "  }\n"
    "  function sortBy(table, col, desc) {\n"
    "    var body = table.tBodies[0];\n"
    "    var rows = Array.prototype.slice.call(body.rows);\n"
    "    rows.sort(function (a, b) {\n"
    "      var x = key(a.cells[col]), y = key(b.cells[col]);\n"
    "      if (x.empty !== y.empty) return x.empty ? 1 : -1;\n"
    "      var c = x.num && y.num ? x.v - y.v\n"
    "            : x.num !== y.num ? (x.num ? -1 : 1)\n"
    "            : x.v.localeCompare(y.v, undefined, {numeric: true});\n"
    "      return desc ? -c : c;\n"
    "    });\n"
    "    rows.forEach(function (r) { body.appendChild(r); });\n"
    "    var ths = table.tHead.rows[0].cells;\n"
    "    for (var i = 0; i < ths.length; i++) ths[i].removeAttribute("
    "'aria-sort');\n"
    "    ths[col].setAttribute('aria-sort', desc ? 'descending' : "
    "'ascending');\n"
    "  }\n"
    "  var tables = document.querySelectorAll('table.sortable');\n"
    "  Array.prototype.forEach.call(tables, function (t) {\n"
    "    Array.prototype.forEach.call(t.tHead.rows[0].cells, "
    "function (th, col) {\n"
    "      function go() {\n"
    "        sortBy(t, col, th.getAttribute('aria-sort') === 'ascending');\n"
    "      }\n"
    "      th.addEventListener('click', go);\n"
    "      th.addEventListener('keydown', function (e) {\n"
    "        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); "
    "go(); }\n"
    "      });\n"
    "    });\n"
    "  });\n"
    "  var m = /^#sort=(\\d+)(-desc)?$/.exec(location.hash);\n"
    "  if (m && tables.length &&\n"
    "      +m[1] < tables[0].tHead.rows[0].cells.length)\n"
    "    sortBy(tables[0], +m[1], !!m[2]);\n"
    "  function broken(img) {\n"
    "    img.classList.add('broken');\n"
    "    img.alt = 'missing: ' + img.getAttribute('src');\n"
    "  }\n"
    "  Array.prototype.forEach.call(document.images, function (img) {\n"
    "    if (img.complete && img.naturalWidth === 0) broken(img);\n"
    "    else img.addEventListener('error', function () { broken(img); });\n"
    "  });\n"
    "  document.body.setAttribute('data-ready', '1');\n"
    "})();\n"
    "</script>\n";

static void put_number(FILE *f, double sum, long n, double scale)
{
    if (n == 0) {
        fputs("<td class=\"num\"></td>", f);
        return;
    }
    double v = scale * sum / (double)n;
    fprintf(f, "<td class=\"num\" data-v=\"%.17g\">%.4g</td>", v, v);
}

static const char *column_title(const rsi_report_column *c, double *scale)
{
    *scale = c->rank < NKNOWN ? known[c->rank].scale : 1;
    return c->rank < NKNOWN ? known[c->rank].title : NULL;
}

static void write_settings(FILE *f, const rsi_report *r)
{
    fputs("<h2>Settings</h2>\n<p class=\"facts\">Means over each setting's "
          "maps; click a header to sort.</p>\n"
          "<div class=\"wide\"><table class=\"sortable\" id=\"settings\">"
          "<thead><tr>"
          "<th tabindex=\"0\">#</th>",
          f);
    for (int k = 0; k < RSI_REPORT_NKEYS; k++)
        if (r->shown[k])
            fprintf(f, "<th tabindex=\"0\">%s</th>", rsi_report_key_names[k]);
    fputs("<th tabindex=\"0\">steps</th><th tabindex=\"0\">maps</th>", f);
    for (int c = 0; c < r->ncols; c++) {
        double scale;
        const char *title = column_title(&r->cols[c], &scale);
        fputs("<th tabindex=\"0\">", f);
        if (title)
            fputs(title, f); /* ours: markup on purpose */
        else
            put_text(f, r->cols[c].name);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int s = 0; s < r->nset; s++) {
        const rsi_report_setting *st = &r->set[s];
        fprintf(f, "<tr><td class=\"num\" data-v=\"%d\">%d</td>", s + 1, s + 1);
        for (int k = 0; k < RSI_REPORT_NKEYS; k++) {
            const char *v = st->key[k];
            if (!r->shown[k])
                continue;
            fputs("<td", f);
            if (k ==
                RSI_RK_MODEL) { /* long paths: the file name, path on hover */
                fputs(" title=\"", f);
                put_text(f, v);
                fputs("\"", f);
                v = base_name(v);
            }
            fputs(">", f);
            put_text(f, v);
            fputs("</td>", f);
        }
        if (st->steps >= 0)
            fprintf(f, "<td class=\"num\" data-v=\"%lld\">%lld</td>",
                    (long long)st->steps, (long long)st->steps);
        else
            fputs("<td class=\"num\"></td>", f);
        fprintf(f, "<td class=\"num\" data-v=\"%ld\">%ld</td>", st->maps,
                st->maps);
        for (int c = 0; c < r->ncols; c++) {
            double scale;
            column_title(&r->cols[c], &scale);
            put_number(f, st->sum[c], st->n[c], scale);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

/* Keys that the settings do not all share, and whether their steps do. */
static int varying(const rsi_report *r, int *varies)
{
    int steps = 0;
    for (int k = 0; k < RSI_REPORT_NKEYS; k++)
        varies[k] = 0;
    for (int s = 1; s < r->nset; s++) {
        for (int k = 0; k < RSI_REPORT_NKEYS; k++)
            varies[k] |= strcmp(r->set[s].key[k], r->set[0].key[k]) != 0;
        steps |= r->set[s].steps != r->set[0].steps;
    }
    return steps;
}

/* "#k layer method-variant score", then whatever else sets it apart from
 * the other settings (target, plugins with their parameters, steps,
 * model): short, yet no two headings alike; the rest is in the table. */
static void put_setting_label(FILE *f, const rsi_report *r, int s,
                              const int *varies, int steps_vary)
{
    const rsi_report_setting *st = &r->set[s];
    fprintf(f, "#%d ", s + 1);
    if (*st->key[RSI_RK_SETTING]) {
        put_text(f, st->key[RSI_RK_SETTING]);
        fputc(' ', f);
    }
    put_text(f, st->key[RSI_RK_LAYER]);
    fputc(' ', f);
    char method[256];
    rsi_map_kind_join(st->key[RSI_RK_METHOD], st->key[RSI_RK_VARIANT], method,
                      sizeof method);
    put_text(f, method);
    fputc(' ', f);
    put_text(f, st->key[RSI_RK_SCORE]);
    static const int more[] = {RSI_RK_TARGET, RSI_RK_BASELINE, RSI_RK_PATH,
                               RSI_RK_MODEL};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
        const char *v = st->key[more[i]];
        if (!varies[more[i]] || !*v)
            continue;
        fputc(' ', f);
        put_text(f, more[i] == RSI_RK_MODEL ? base_name(v) : v);
    }
    if (steps_vary && st->steps >= 0)
        fprintf(f, " %lld steps", (long long)st->steps);
    else if (steps_vary)
        fputs(" auto steps", f);
}

static void write_thumbs(FILE *f, const rsi_report *r)
{
    if (r->nimages == 0)
        return;
    fputs("<h2>Maps</h2>\n<div class=\"wide\"><table class=\"thumbs\" "
          "id=\"thumbs\"><thead><tr><th>image</th>",
          f);
    int varies[RSI_REPORT_NKEYS], steps_vary = varying(r, varies);
    for (int s = 0; s < r->nset; s++) {
        fputs("<th>", f);
        put_setting_label(f, r, s, varies, steps_vary);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int i = 0; i < r->nimages; i++) {
        fputs("<tr><th title=\"", f);
        put_text(f, r->images[i]);
        fputs("\">", f);
        put_text(f, base_name(r->images[i]));
        fputs("</th>", f);
        for (int s = 0; s < r->nset; s++) {
            const char *ov = r->cells[(size_t)i * (size_t)r->nset + (size_t)s];
            if (!ov) {
                fputs("<td></td>", f);
                continue;
            }
            fputs("<td><a href=\"", f);
            put_url(f, ov);
            fputs("\"><img loading=\"lazy\" src=\"", f);
            put_url(f, ov);
            fputs("\" alt=\"", f);
            put_text(f, ov);
            fputs("\"></a></td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

static void write_failures(FILE *f, const rsi_report *r)
{
    if (r->failures == 0)
        return;
    fputs("<h2>Failed images</h2>\n<ul id=\"failures\">\n", f);
    size_t i;
    json_t *o;
    json_array_foreach(r->records, i, o)
    {
        if (rsi_report_is_ok(o))
            continue;
        fputs("<li><code>", f);
        put_text(f, rsi_report_str(o, "image"));
        fputs("</code>: ", f);
        put_text(f, rsi_report_str(o, "error"));
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

void rsi_report_page_write(FILE *f, const rsi_report *r, const char *title,
                           const char *csv)
{
    fputs(page_head, f);
    fputs("<title>", f);
    put_text(f, title);
    fputs("</title>\n</head>\n<body>\n<h1>", f);
    put_text(f, title);
    fprintf(f,
            "</h1>\n<p class=\"facts\">%ld maps of %d images in %d settings; "
            "%ld failed",
            r->maps, r->nimages, r->nset, r->failures);
    if (r->bad_lines)
        fprintf(f, "; %ld unreadable lines in " RSI_RESULTS_FILE, r->bad_lines);
    fputs(".</p>\n", f);
    write_settings(f, r);
    if (csv)
        write_csv_table(f, csv);
    write_thumbs(f, r);
    write_failures(f, r);
    fputs(page_script, f);
    fputs("</body>\n</html>\n", f);
}
