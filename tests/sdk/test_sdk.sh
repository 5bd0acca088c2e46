#!/usr/bin/env bash
# The plugin SDK end to end, as a plugin author meets it:
#   1. `cmake --install BUILD --prefix P` into a temporary prefix: headers,
#      librsicam, the rsicam command, the shipped plugins, rsicam.pc;
#   2. build examples/plugin_template out of tree (a copy outside the
#      source tree) with only `pkg-config` pointing at P, and install it
#      into P's plugin directory;
#   3. the installed rsicam lists it (`rsicam plugins --plugin-path DIR`);
#   4. `rsicam explain --path quadratic` on a tiny model made here writes a
#      map, and at a layer every path crosses the plain logit map is
#      complete: sum(IG) ~ score(x) - score(b).
#
#   test_sdk.sh BUILD_DIR
set -u
build=$(cd "${1:?usage: test_sdk.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
python=${RSICAM_PYTHON_LAUNCHER:-$src/tools/rsicam-python}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
# Only what the test names: no plugins from the build tree's environment.
unset RSICAM_PLUGIN_PATH

# ---- 1. install ------------------------------------------------------------
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install failed"; }
for f in include/rsicam/tensor.h include/rsicam/model.h \
    include/rsicam/plugin.h include/rsicam/error.h bin/rsicam; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done
pc=$(find "$prefix" -name rsicam.pc -path '*/pkgconfig/*' | head -1)
[ -n "$pc" ] || fail "rsicam.pc not installed"
libdir=$(dirname "$(dirname "$pc")")
ls "$libdir"/librsicam.so* >/dev/null 2>&1 || fail "librsicam not in $libdir"
for p in baselines/zero/zero.so paths/linear/linear.so; do
    [ -e "$libdir/rsicam/plugins/$p" ] || fail "plugin not installed: $p"
done
# Nothing may have been written outside the prefix: every installed path
# in the manifest lies under it.
grep -v "^$prefix/" "$build/install_manifest.txt" &&
    fail "installed outside the prefix (above)"

# ---- 2. pkg-config and the out-of-tree build ---------------------------------
export PKG_CONFIG_PATH=$(dirname "$pc")
cflags=$(pkg-config --cflags rsicam) || fail "pkg-config cannot find rsicam"
incdir=${cflags#-I}
incdir=${incdir%% *} # pkg-config ends its output with a blank
[ "$(realpath "$incdir")" = "$(realpath "$prefix/include")" ] ||
    fail "Cflags '$cflags' do not name $prefix/include"
plugindir=$(pkg-config --variable=plugindir rsicam)
[ "$(realpath "$plugindir")" = "$(realpath "$libdir/rsicam/plugins")" ] ||
    fail "plugindir '$plugindir' is not $libdir/rsicam/plugins"
libs=$(pkg-config --libs rsicam)
case "$libs" in *-lrsicam*) ;; *) fail "Libs '$libs' lack -lrsicam" ;; esac

cp -r "$src/examples/plugin_template" "$work/template"
make -C "$work/template" >"$work/make.log" 2>&1 ||
    { cat "$work/make.log" >&2; fail "the template does not build"; }
grep -q -- "-I$incdir" "$work/make.log" ||
    fail "the template was not compiled with pkg-config's flags"
grep -E 'warning' "$work/make.log" >&2 && fail "the template has warnings"
make -C "$work/template" install >>"$work/make.log" 2>&1 ||
    fail "make install failed"
so=$plugindir/paths/quadratic/quadratic.so
[ -e "$so" ] || fail "make install did not write $so"

# ---- 3. the installed command lists it ----------------------------------------
rsicam=$prefix/bin/rsicam
"$rsicam" plugins --plugin-path "$plugindir" >"$work/plugins.txt" 2>&1 ||
    { cat "$work/plugins.txt" >&2; fail "rsicam plugins failed"; }
grep -q quadratic "$work/plugins.txt" ||
    { cat "$work/plugins.txt" >&2; fail "quadratic is not listed"; }
grep -q exponent "$work/plugins.txt" ||
    fail "quadratic's parameter is not listed"

# ---- 4. explain with it ----------------------------------------------------------
"$python" - "$work" <<'EOF' || fail "making the model failed"
import json, sys
import numpy as np
import torch
from PIL import Image
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)
# features is a plain Sequential: every input-to-output path crosses it.
m = nn.Sequential()
m.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                           nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU())
m.pool = nn.AdaptiveAvgPool2d(1)
m.flat = nn.Flatten()
m.fc = nn.Linear(6, 3)
meta = {"input_size": [16, 16], "mean": [0.5, 0.5, 0.5],
        "std": [0.25, 0.25, 0.25], "labels": ["a", "b", "c"],
        "default_layer": "features"}
torch.jit.save(torch.jit.script(m.eval()), out + "/tiny.pt",
               _extra_files={"rsicam.json": json.dumps(meta)})
rng = np.random.default_rng(3)
Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
                "RGB").save(out + "/tiny.png")
EOF
"$rsicam" explain --model "$work/tiny.pt" --image "$work/tiny.png" \
    --layer features --variant plain --score logit --steps 64 \
    --path quadratic:exponent=2 --plugin-path "$plugindir" \
    --out "$work/out" >"$work/explain.log" 2>&1 ||
    { cat "$work/explain.log" >&2; fail "rsicam explain --path quadratic failed"; }
ls "$work"/out/*.heatmap.npy >/dev/null 2>&1 || fail "no heatmap written"
ls "$work"/out/*.png >/dev/null 2>&1 || fail "no overlay written"
"$python" - "$work/out/results.jsonl" <<'EOF' || fail "completeness check failed"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(recs) == 1, recs
r = recs[0]
assert r["status"] == "ok" and r["path"] == "quadratic", r
diff = r["score_image"] - r["score_baseline"]
gap = abs(r["ig_sum"] - diff)
print("quadratic: ig_sum %.6g, score(x) - score(b) %.6g, gap %.3g"
      % (r["ig_sum"], diff, gap))
# The trapezoid rule's error shrinks as 1/m^2; 64 steps leave well under 1%.
assert gap <= 1e-2 * max(abs(diff), 1e-3), "completeness gap %g" % gap
EOF
echo "test_sdk: ok"
