#!/usr/bin/env bash
# The plugin SDK end to end, as a plugin author meets it in
# docs/plugins.md ("Your first path", "Your first baseline"):
#   1. `cmake --install BUILD --prefix P` into a temporary prefix: headers,
#      librsicam, the rsicam command, the shipped plugins, rsicam.pc;
#   2. the tutorial's files, taken from docs/plugins.md itself (and checked
#      to be examples/plugin_template's), built out of tree with only
#      `pkg-config` pointing at P, and `make install`ed;
#   3. the installed rsicam lists them without being told where (they are
#      beside its own library), also after the prefix is moved, and never
#      searches the build tree; a missing plugin's error says where it
#      looked;
#   4. `rsicam explain --path quadratic --baseline colour` on a tiny model
#      made here writes a map, and at a layer with non-linear layers after
#      it the plain logit map is complete: sum(IG) ~ score(x) - score(b).
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

# The tutorial's files, as the page shows them.
mkdir -p "$work/template"
for f in quadratic.c colour.c Makefile; do
    awk -v f="$f" '
        $0 == "<!-- file: " f " -->" { want = 1; next }
        want && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$src/docs/plugins.md" >"$work/template/$f"
    [ -s "$work/template/$f" ] || fail "docs/plugins.md shows no $f"
    cmp -s "$work/template/$f" "$src/examples/plugin_template/$f" ||
        fail "docs/plugins.md's $f differs from examples/plugin_template/$f"
done
make -C "$work/template" >"$work/make.log" 2>&1 ||
    { cat "$work/make.log" >&2; fail "the tutorial's plugins do not build"; }
grep -q -- "-I$incdir" "$work/make.log" ||
    fail "the template was not compiled with pkg-config's flags"
grep -q -- "-std=c11" "$work/make.log" || fail "not built with -std=c11"
grep -E 'warning' "$work/make.log" >&2 && fail "the template has warnings"
make -C "$work/template" install >>"$work/make.log" 2>&1 ||
    fail "make install failed"
for so in paths/quadratic/quadratic.so baselines/colour/colour.so; do
    [ -e "$plugindir/$so" ] || fail "make install did not write $plugindir/$so"
done

# ---- 3. the installed command finds them --------------------------------------
rsicam=$prefix/bin/rsicam
"$rsicam" plugins >"$work/plugins.txt" 2>&1 ||
    { cat "$work/plugins.txt" >&2; fail "rsicam plugins failed"; }
for want in quadratic exponent colour "installed beside librsicam"; do
    grep -q "$want" "$work/plugins.txt" ||
        { cat "$work/plugins.txt" >&2; fail "'$want' is not listed"; }
done
grep -q "$build" "$work/plugins.txt" &&
    fail "the installed rsicam searched the build tree"
# A moved prefix keeps working: the search is relative, not configured.
mv "$prefix" "$work/moved"
"$work/moved/bin/rsicam" plugins >"$work/moved.txt" 2>&1 ||
    { cat "$work/moved.txt" >&2; fail "rsicam plugins failed after the move"; }
grep -q "$(realpath "$work")/moved/.*/rsicam/plugins" "$work/moved.txt" &&
    grep -q colour "$work/moved.txt" ||
    { cat "$work/moved.txt" >&2; fail "a moved prefix lost its plugins"; }
mv "$work/moved" "$prefix"
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
    --out "$work/none" --path quadratc >"$work/missing.txt" 2>&1 &&
    fail "an unknown path plugin was accepted"
grep -q "no path plugin 'quadratc' (did you mean 'quadratic'?).*searched: .*$(realpath "$plugindir")" \
    "$work/missing.txt" ||
    { cat "$work/missing.txt" >&2; fail "the error does not say where it looked"; }

# features.1: a ReLU with a convolution and a ReLU after it, so the logit
# is not linear in its activations and completeness tests the path.
"$rsicam" explain --model "$work/tiny.pt" --image "$work/tiny.png" \
    --layer features.1 --variant plain --score logit --steps 64 \
    --path quadratic:exponent=2 --baseline colour:r=0.2,g=0.9,b=0.4 \
    --out "$work/out" >"$work/explain.log" 2>&1 ||
    { cat "$work/explain.log" >&2; fail "rsicam explain with the tutorial's plugins failed"; }
ls "$work"/out/*.heatmap.npy >/dev/null 2>&1 || fail "no heatmap written"
ls "$work"/out/*.png >/dev/null 2>&1 || fail "no overlay written"
"$python" - "$work/out/results.jsonl" <<'EOF' || fail "completeness check failed"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(recs) == 1, recs
r = recs[0]
assert r["status"] == "ok" and r["path"] == "quadratic", r
assert r["baseline"] == "colour", r
diff = r["score_image"] - r["score_baseline"]
gap = abs(r["ig_sum"] - diff)
print("quadratic from colour: ig_sum %.6g, score(x) - score(b) %.6g, gap %.3g"
      % (r["ig_sum"], diff, gap))
# The trapezoid rule's error shrinks as 1/m^2; 64 steps leave well under 1%.
assert gap <= 1e-2 * max(abs(diff), 1e-3), "completeness gap %g" % gap
EOF
echo "test_sdk: ok"
