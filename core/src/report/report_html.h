/* rsicam — a static HTML report of an output directory.
 *
 * rsi_report_html_write() reads OUT/results.jsonl (and OUT/summary.csv when
 * present) and writes OUT/index.html: one self-contained page that opens
 * from file:// with no server and loads nothing from elsewhere (inline CSS
 * and JS; a Content-Security-Policy forbids the rest):
 *
 *   - a table of settings: one row per (setting, model, layer, method,
 *     variant, score, target, baseline, path, steps, setting_id) found in
 *     the records ("setting" is an optional name an experiment runner may
 *     add; an experiment's baseline and path are shown with their
 *     parameters from the record's "settings", and its setting_id, a hash
 *     of them, tells apart settings that differ only in a parameter), the
 *     number of maps, and the mean over its maps of every numeric field of
 *     the records, one column each (known metrics first, with their
 *     direction: metrics.h, localize.h; bookkeeping fields such as class,
 *     ig_sum, unit or seconds left out). A key no setting has gets no
 *     column. Click a header to sort by it; #sort=N[-desc] in the URL sorts
 *     by column N on load;
 *   - summary.csv, when present, as a second sortable table, as written;
 *   - thumbnails: one row per image, one column per setting, each the
 *     map's overlay PNG (relative link, opens full size on click), headed
 *     by the setting's layer, method and score and whatever else sets it
 *     apart from the others;
 *   - the failed images with their errors.
 *
 * The page fits a 1400-pixel window: each table scrolls in a box of its
 * own when wider, and long names wrap.
 *
 * Every text from the files is HTML-escaped and every link percent-encoded,
 * so file names and error messages can never inject markup. The page is
 * written atomically (fileio.h).
 */
#ifndef RSICAM_REPORT_HTML_H
#define RSICAM_REPORT_HTML_H

#define RSI_REPORT_FILE "index.html"
#define RSI_SUMMARY_FILE "summary.csv"

/* Writes out_dir/index.html. title may be NULL ("rsicam report"). Fails
 * (RSI_ERR_INPUT) without results.jsonl; unreadable lines in it are
 * counted and reported on the page, not fatal. */
int rsi_report_html_write(const char *out_dir, const char *title);

/* s with & < > " ' replaced by entities (malloc'd; NULL on no memory). */
char *rsi_html_escape(const char *s);

#endif
