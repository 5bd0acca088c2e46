#!/usr/bin/env bash
# Loads the static HTML report in headless Chromium from file://, as a user
# would open it, and checks that
#   - no script error, console message or blocked load was logged;
#   - the page's script ran (it marks <body data-ready="1">);
#   - the settings table, summary.csv table and every thumbnail are in the
#     DOM, and every thumbnail image loaded (the script marks broken ones);
#   - "#sort=N" sorts numerically with missing values last;
#   - no markup from the file names or error messages became elements;
#   - the page fits a 1400-pixel window: no horizontal scroll, though
#     make_report's page holds a very long name and a very wide table.
#
#   check_report.sh MAKE_REPORT    (the tests/report/make_report binary)
#
# Without Chromium it tries `apt-get install chromium` (as root); when that
# is impossible the test is skipped (exit 77, ctest's SKIP_RETURN_CODE).
set -u
make_report=${1:?usage: check_report.sh MAKE_REPORT}

find_chromium() {
    command -v chromium || command -v chromium-browser || true
}
chromium=$(find_chromium)
if [ -z "$chromium" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "check_report: installing chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get install -y -qq --no-install-recommends chromium \
        >/dev/null 2>&1 ||
        { timeout 300 apt-get update -qq >/dev/null 2>&1 &&
            timeout 600 apt-get install -y -qq --no-install-recommends \
                chromium >/dev/null 2>&1; }
    chromium=$(find_chromium)
fi
if [ -z "$chromium" ]; then
    echo "SKIP: chromium is not installed and could not be installed" \
        "(apt-get install chromium)"
    exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

"$make_report" "$work/out" || fail "make_report failed"

# load URL NAME [WIDTH,HEIGHT]: the DOM after load into $work/NAME.html,
# the browser's log into $work/NAME.log.
load() {
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --user-data-dir="$(mktemp -d -p "$work")" \
        --enable-logging=stderr --v=0 --window-size="${3:-1280,4000}" \
        --virtual-time-budget=5000 --dump-dom "$1" \
        >"$work/$2.html" 2>"$work/$2.log" ||
        { cat "$work/$2.log" >&2; fail "chromium failed on $1"; }
    # Our page logs nothing: any console line is an error, a CSP report or
    # a failed load.
    if grep -E 'Uncaught|CONSOLE|Refused to|ERR_FILE_NOT_FOUND' \
        "$work/$2.log" >&2; then
        fail "errors in the browser's log for $1"
    fi
}

url="file://$work/out/index.html"
load "$url" plain
dom="$work/plain.html"
grep -q 'data-ready="1"' "$dom" || fail "the page's script did not run"
grep -q '<table class="sortable" id="settings">' "$dom" ||
    fail "no settings table"
grep -q 'id="summary"' "$dom" || fail "no summary.csv table"
n=$(grep -o '<img ' "$dom" | wc -l)
[ "$n" -eq 6 ] || fail "expected 6 thumbnails, found $n"
grep -q 'class="broken"' "$dom" && fail "a thumbnail did not load"
# Markup in names and errors stayed text: no element came of it.
grep -q '<img src="x"' "$dom" && fail "an image name became markup"
n=$(grep -o '<script' "$dom" | wc -l)
[ "$n" -eq 1 ] || fail "expected the page's one script, found $n"
grep -q '<i>' "$dom" && fail "summary.csv markup became elements"

# Row order of the settings table: the "#" cell of each row.
order() {
    sed -n '/id="settings"/,/<\/table>/p' "$1" |
        grep -o '<tr><td class="num" data-v="[0-9]*"' |
        grep -o '[0-9]*"$' | tr -d '"' | tr '\n' ' '
}
[ "$(order "$dom")" = "1 2 3 " ] || fail "unsorted order: $(order "$dom")"
# Column 0 is "#", columns 1-7 the setting, 8 steps, 9 maps, then the
# metrics: probability (10), deletion AUC (11), increase (12), my_metric
# (13, not a known one).
load "$url#sort=13" by_my_metric
got=$(order "$work/by_my_metric.html")
[ "$got" = "2 1 3 " ] || fail "sorted by my_metric: got '$got', want '2 1 3 '"
load "$url#sort=10-desc" by_probability
got=$(order "$work/by_probability.html")
[ "$got" = "3 2 1 " ] || fail "sorted by probability desc: got '$got'"
grep -q 'aria-sort="descending"' "$work/by_probability.html" ||
    fail "the sorted header is not marked"

# The page fits a 1400-pixel window. A copy of it with one more script
# (inline, as the page's own policy allows) notes the document's width
# once laid out; wide tables may scroll inside their boxes, not the page.
sed 's#</body>#<script>document.body.setAttribute("data-width", '\
'document.documentElement.scrollWidth);</script></body>#' \
    "$work/out/index.html" >"$work/out/measure.html"
load "file://$work/out/measure.html" measure 1400,900
width=$(grep -o 'data-width="[0-9]*"' "$work/measure.html" | grep -o '[0-9]*')
[ -n "$width" ] || fail "the page's width was not measured"
[ "$width" -le 1400 ] ||
    fail "the page is $width pixels wide in a 1400-pixel window"

echo "check_report: ok ($chromium)"
