#!/bin/bash
# usage: bench/adaptive_vae.sh BEFORE/rsicam AFTER/rsicam
# --steps auto --path vae on the 36 shipped canvases: seconds per image,
# two rsicam builds (before, after) one after the other, 1 repetition each.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=${1:?usage: bench/adaptive_vae.sh BEFORE_RSICAM AFTER_RSICAM}
AFTER=${2:?usage: bench/adaptive_vae.sh BEFORE_RSICAM AFTER_RSICAM}
S=$ROOT/examples
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for model in fmnist_cnn fmnist_cnn_t20; do
 for which in before after; do
  bin=$BEFORE; [ $which = after ] && bin=$AFTER
  out=$WORK/$which-$model
  t0=$(date +%s.%N)
  $bin explain --model $S/models/$model.pt $(ls $S/samples/*.png) \
     --out $out --quiet --threads 2 --steps auto --path vae:model=$S/models/fmnist_vae.pt 2>$WORK/$which-$model.err
  rc=$?
  t1=$(date +%s.%N)
  python3 - "$out" "$which" "$model" "$t0" "$t1" "$rc" <<'PY'
import json,sys
out,which,model,t0,t1,rc=sys.argv[1:]
rs=[json.loads(l) for l in open(out+"/results.jsonl") if l.strip()]
ok=[r for r in rs if r.get("status")=="ok"]
secs=sorted({r["image"]: r["seconds"] for r in ok}.values())
steps=[r["steps"] for r in ok]
print(f"{model} {which}: rc {rc}, {len(ok)} maps, wall {float(t1)-float(t0):.1f} s, mean s/image {sum(secs)/len(secs):.3f}, mean steps {sum(steps)/len(steps):.1f}")
PY
 done
done
