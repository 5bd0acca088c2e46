"""rsicam CPU benchmark driver (run it as bench/run; see bench/README.md).

Side by side, interleaved, several repetitions, one thread count for all:
  (a) the published loop in Python (bench/published_loop.py),
  (b) `rsicam explain` (whole command, and the "seconds" field of
      results.jsonl: the per-image pass),
  (c) the floor: m + 1 no-grad forwards in batches through the same
      TorchScript model and library (bench/floor.c),
plus peak memory (max RSS) of each, rsicam's peak memory at many steps vs
50, four layers in one run vs one, and optionally the issue's "ideas to
measure" (threads, batch size, torch.jit.freeze). Everything is reported as
medians and ratios measured within one run. Markdown on stdout; with --save
also bench/results/<date>-cpu-<commit>.md (and the raw runs as .json), with
--save TAG bench/results/<date>-cpu-<commit>-TAG.md; an existing result is
never overwritten (the run stops before it starts instead).
"""
import argparse
import collections
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PYTHON = os.path.join(ROOT, "tools", "rsicam-python")

MODELS = {
    "resnet50": {"layer": "layer4"},
    "vgg19": {"layer": "features.36"},
}
FOUR_LAYERS = "layer4,layer3,layer4.2.conv3,layer2"
SHALLOWEST_OF_FOUR = "layer2"
EXECUTORS = ("profiling", "legacy", "simple")
QUIET_LOAD = 2.5

GOAL_B_OVER_C = 1.10
GOAL_A_OVER_B = 4.0
# rsicam's pass over the true floor (the fastest no-grad forwards any
# executor, eager PyTorch or batch size gives): a frozen head beats it
GOAL_B_OVER_TRUE_FLOOR = {"resnet50": 0.9, "vgg19": 1.0}
GOAL_FOUR_OVER_SHALLOWEST = 1.05
GOAL_MEM = 1.10
GOAL_FOUR = 1.15


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/run", description=__doc__.split("\n\n")[0],
        epilog="See bench/README.md for what each number means.")
    p.add_argument("--build", default=os.path.join(ROOT, "build"),
                   help="CMake build directory with rsicam and "
                        "bench/rsicam-bench-floor (default: build/; built "
                        "when they are missing)")
    p.add_argument("--work", default=None,
                   help="scratch directory for models, image, outputs "
                        "(default: BUILD/bench-work)")
    p.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for every variant (default 2)")
    p.add_argument("--steps", type=int, default=50, help="path steps m (default 50)")
    p.add_argument("--batch", type=int, default=8,
                   help="path points per forward, rsicam and floor (default 8; "
                        "rsicam's own default, --batch auto, is a variant of its "
                        "own)")
    p.add_argument("--models", default="resnet50,vgg19",
                   help="comma list of resnet50, vgg19 (default both)")
    p.add_argument("--mem-steps", type=int, default=1000,
                   help="steps of the peak-memory run of rsicam on ResNet50 "
                        "layer4, against --steps (default 1000; 0 skips)")
    p.add_argument("--no-four", action="store_true",
                   help="skip four layers vs one (ResNet50)")
    p.add_argument("--four-pairs", type=int, default=4,
                   help="after the interleaved loop, this many more runs of "
                        "the four layers and of the shallowest alone, one "
                        "after the other, the order alternating (default 4; "
                        "their ratio is a few percent, the machine's spread "
                        "per run about ten)")
    p.add_argument("--no-auto", action="store_true",
                   help="skip rsicam with --batch auto (measured and cached "
                        "once before the timed runs)")
    p.add_argument("--no-bf16", action="store_true",
                   help="skip rsicam --precision bf16 (the network before "
                        "the layer in bfloat16: fast where the CPU has "
                        "AVX512-BF16 or AMX, slow where it emulates them)")
    p.add_argument("--no-breakdown", action="store_true",
                   help="skip the floor.c exposed/grad modes that split "
                        "rsicam's time")
    p.add_argument("--no-floors", action="store_true",
                   help="skip the true floor: no-grad forwards under each "
                        "TorchScript executor and in eager PyTorch at each "
                        "--floor-batches size")
    p.add_argument("--floor-batches", default="1,8,17",
                   help="batch sizes of the true floor (default 1,8,17)")
    p.add_argument("--floor-pairs", type=int, default=5,
                   help="after the interleaved loop, this many more runs of "
                        "each model's true floor winner and of rsicam at its "
                        "default, side by side, the order alternating "
                        "(default 5; the goal is judged on them: the "
                        "fastest of the sweep's many medians is low by luck)")
    p.add_argument("--no-head", action="store_true",
                   help="skip rsicam with RSICAM_HEAD=plain (the whole forward "
                        "with gradients, no frozen head), RSICAM_HEAD=folded "
                        "and RSICAM_SMALL_PAGES=1")
    p.add_argument("--ideas", action="store_true",
                   help="also measure: threads 1 vs --threads, --batch 8/16/32 "
                        "for rsicam and the floor (ResNet50), and "
                        "torch.jit.freeze / optimize_for_inference in Python")
    p.add_argument("--ideas-batches", default="8,16,32",
                   help="batch sizes for --ideas (default 8,16,32)")
    p.add_argument("--quick", action="store_true",
                   help="development settings: --steps 16 --reps 1 "
                        "--mem-steps 64 --four-pairs 0 --floor-pairs 0, ResNet50 only "
                        "(overrides those)")
    p.add_argument("--wait-quiet", type=float, default=0,
                   help="wait up to this many seconds for the 1-minute load "
                        "average to fall below %g before starting" % QUIET_LOAD)
    p.add_argument("--pause", type=float, default=0,
                   help="seconds to sleep before each timed process (0): "
                        "on a VM whose host takes freed memory back, a run "
                        "that follows another at once writes pages that "
                        "one freed, at the speed of memory already "
                        "touched; after a pause (3 s or more) every run's "
                        "memory is new to it, as a first command's is")
    p.add_argument("--note", default="",
                   help="a line for the report's header (what was built, why)")
    p.add_argument("--save", nargs="?", const="", default=None,
                   metavar="TAG",
                   help="write bench/results/<date>-cpu-<commit>.md and .json "
                        "(<date>-cpu-<commit>-TAG.* with a TAG)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.reps, args.mem_steps = 16, 1, 64
        args.four_pairs = args.floor_pairs = 0
        args.models = "resnet50"
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in args.models:
        if m not in MODELS:
            p.error("--models: unknown model %r (known: %s)" % (m, ", ".join(MODELS)))
    args.ideas_batches = [int(b) for b in args.ideas_batches.split(",") if b.strip()]
    args.floor_batches = [int(b) for b in args.floor_batches.split(",") if b.strip()]
    if args.quick:
        args.floor_batches = [args.batch]
    if args.reps < 1 or args.threads < 1 or args.steps < 1 or args.batch < 1:
        p.error("--reps, --threads, --steps and --batch must be >= 1")
    if args.four_pairs < 0:
        p.error("--four-pairs must be >= 0")
    if args.floor_pairs < 0:
        p.error("--floor-pairs must be >= 0")
    args.build = os.path.abspath(args.build)
    args.work = os.path.abspath(args.work or os.path.join(args.build, "bench-work"))
    return args


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


# --- set-up -----------------------------------------------------------------

def ensure_built(build):
    rsicam = os.path.join(build, "rsicam")
    floor = os.path.join(build, "bench", "rsicam-bench-floor")
    if os.access(rsicam, os.X_OK) and os.access(floor, os.X_OK):
        return rsicam, floor
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        log("configuring %s (Release)" % build)
        subprocess.run(["cmake", "-S", ROOT, "-B", build,
                        "-DCMAKE_BUILD_TYPE=Release"], check=True)
    log("building %s (rsicam, plugins, bench/rsicam-bench-floor)" % build)
    subprocess.run(["cmake", "--build", build, "-j2"], check=True)
    for f in (rsicam, floor):
        if not os.access(f, os.X_OK):
            sys.exit("bench: %s was not built" % f)
    return rsicam, floor


def build_type(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "(none)"
    except OSError:
        pass
    return "?"


def ensure_models(work, models):
    paths = {}
    for m in models:
        path = os.path.join(work, m + ".pt")
        if not os.path.exists(path):
            log("exporting %s (random weights) to %s" % (m, path))
            subprocess.run([os.path.join(ROOT, "tools", "export_torchvision"),
                            "--arch", m, "--random-weights", "--out", path], check=True)
        paths[m] = path
    return paths


IMAGE_CODE = r"""
import sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
h = w = 224
yy, xx = np.mgrid[0:h, 0:w] / float(h)
img = np.empty((h, w, 3))
for c in range(3):
    f = rng.uniform(2, 6, size=2)
    img[..., c] = (np.sin(2 * np.pi * f[0] * xx + c) * np.cos(2 * np.pi * f[1] * yy)
                   + 0.6 * np.sin(2 * np.pi * 30 * (xx + yy * (c + 1) / 3))
                   + 0.3 * rng.standard_normal((h, w)))
img = (img - img.min()) / (img.max() - img.min())
Image.fromarray((img * 255).round().astype(np.uint8), "RGB").save(sys.argv[1])
"""


def ensure_image(work):
    """tests/reference/make_image.py's parity image (the random-weight models'
    class score rises along its path, so the maps are not all zero), else a
    simple textured image of our own."""
    path = os.path.join(work, "bench-224.png")
    if not os.path.exists(path):
        maker = os.path.join(ROOT, "tests", "reference", "make_image.py")
        if not (os.path.exists(maker) and
                subprocess.run([PYTHON, maker, path]).returncode == 0):
            subprocess.run([PYTHON, "-c", IMAGE_CODE, path], check=True)
    return path


# --- one run ----------------------------------------------------------------

class RunFailed(Exception):
    pass


BATCH_CACHE = None  # set by main(): WORK/batch-cache
BLAS_KERNELS = {}  # set by main(): openblas_as_librsicam_runs_it()
PAUSE = 0  # set by main() (--pause): seconds before each timed process


def timed(cmd, threads, cwd=None, env_extra=None):
    """Runs cmd under /usr/bin/time; returns (stdout, wall seconds, max RSS
    kB, stderr)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    if BATCH_CACHE:  # --batch auto's measurements: the bench's own
        env["RSICAM_CACHE_DIR"] = BATCH_CACHE
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    time.sleep(PAUSE)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name] + cmd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=cwd)
        wall = time.perf_counter() - t0
        fields = tf.read().split()
    if proc.returncode != 0:
        raise RunFailed("exit %d: %s\n%s" % (proc.returncode, " ".join(cmd),
                                            proc.stderr[-3000:]))
    rss = int(fields[-1]) if fields else -1
    return proc.stdout, wall, rss, proc.stderr


def openblas_as_librsicam_runs_it(build):
    """The OPENBLAS_CORETYPE that gives a Python process the kernels
    librsicam has OpenBLAS run: librsicam, loaded in a process of its own,
    settles OpenBLAS as rsicam does (core/torch/openblas.cpp) and the
    process says which kernels OpenBLAS chose and which it then runs; {}
    where they are the same (as where the user set OPENBLAS_CORETYPE,
    which the process inherits and librsicam leaves standing) or there is
    no OpenBLAS to ask."""
    probe = ("import ctypes, sys\n"
             "rsicam = ctypes.CDLL(sys.argv[1])\n"
             "blas = ctypes.CDLL('libopenblas.so.0')\n"
             "blas.openblas_get_corename.restype = ctypes.c_char_p\n"
             "chose = blas.openblas_get_corename().decode()\n"
             "rsicam.rsi_torch_set_threads(1)\n"
             "print(chose, blas.openblas_get_corename().decode())\n")
    p = subprocess.run([sys.executable, "-c", probe,
                        os.path.join(build, "core", "librsicam.so")],
                       capture_output=True, text=True)
    names = p.stdout.split()
    if p.returncode != 0 or len(names) != 2 or names[0] == names[1]:
        return {}
    return {"OPENBLAS_CORETYPE": names[1]}


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RunFailed("no JSON line in output:\n" + text[-2000:])


# RSICAM_TRACE's lines for the head's one-time freezing (core/torch/model.cpp)
# and for what --batch auto chose (core/src/explain/batch_calibrate.c)
FREEZE_TRACE = re.compile(r"^rsicam: trace: head frozen.* in ([\d.]+) ms$", re.M)
AUTO_BATCH_TRACE = re.compile(r"^rsicam: trace: batch auto: (\d+) for", re.M)
# each forward after the first: the time since the one before
FORWARD_TRACE = re.compile(r"^rsicam: trace: forward: .* ([\d.]+) ms after the last$",
                           re.M)


def explain_once(rsicam, model, layers, images, spec, work, env=None):
    """Runs `rsicam explain` (the binary rsicam) once, in a fresh process,
    with spec's steps, batch, threads and precision, its outputs in a
    scratch folder under work that is removed after; returns
    (results.jsonl's records, wall seconds, max RSS kB, trace facts: the
    seconds spent freezing the head, the batch --batch auto chose and the
    median of the milliseconds between forwards after the first, the
    steady pace that a burst of load on the host moves least, each None
    where not said). bench/run and bench/interleave.py both time
    rsicam through here."""
    out_dir = tempfile.mkdtemp(prefix="rsicam-", dir=work)
    try:
        _, wall, rss, err = timed(
            [rsicam, "explain", "--model", model, "--layer", layers] +
            [arg for image in images for arg in ("--image", image)] +
            ["--out", out_dir, "--steps", str(spec["steps"]),
             "--batch", str(spec["batch"]), "--threads", str(spec["threads"]),
             "--precision", spec.get("precision", "fp32"), "--quiet"],
            spec["threads"], env_extra=dict(env or {}, RSICAM_TRACE="1"))
        with open(os.path.join(out_dir, "results.jsonl")) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    bad = [r for r in recs if r.get("status") == "failed"]
    if bad or not recs:
        raise RunFailed("rsicam failed: %s" % (bad[0] if bad else "no records"))
    frozen = FREEZE_TRACE.findall(err)
    chosen = AUTO_BATCH_TRACE.findall(err)
    gaps = [float(ms) for ms in FORWARD_TRACE.findall(err)]
    return recs, wall, rss, {"freeze": float(frozen[0]) / 1e3 if frozen else None,
                             "batch": int(chosen[0]) if chosen else None,
                             "forward_ms": statistics.median(gaps) if gaps else None}


class Runner:
    def __init__(self, args, rsicam, floor, models, image):
        self.args, self.rsicam, self.floor = args, rsicam, floor
        self.models, self.image = models, image
        root, ext = os.path.splitext(image)
        self.image_copy = root + "-copy" + ext
        shutil.copyfile(image, self.image_copy)

    def published(self, spec):
        out, wall, rss, _ = timed(
            [PYTHON, os.path.join(BENCH, "published_loop.py"), "--arch", spec["model"],
             "--model", self.models[spec["model"]], "--layer", spec["layer"],
             "--image", self.image, "--steps", str(spec["steps"]),
             "--threads", str(spec["threads"])], spec["threads"],
            # on the BLAS kernels rsicam runs, so that (a)/(b) compares the
            # methods, not OpenBLAS's fallback on a CPU it does not know
            env_extra=BLAS_KERNELS)
        j = last_json(out)
        return {"pass": j["seconds"], "loop": j["loop_seconds"], "load": j["load_seconds"],
                "wall": wall, "rss_kb": rss, "class": j["class"]}

    def explain(self, spec):
        """One `rsicam explain`; with spec["warm"], on the image and then a
        copy of it in the same command (second_image() takes the difference
        of the whole commands)."""
        images = [self.image] + ([self.image_copy] if spec.get("warm") else [])
        recs, wall, rss, said = explain_once(
            self.rsicam, self.models[spec["model"]], spec["layer"], images,
            spec, self.args.work, spec.get("env"))
        return {"pass": recs[0]["seconds"], "wall": wall, "rss_kb": rss,
                "class": recs[0].get("class"), "maps": len(recs),
                "freeze": said["freeze"], "batch": said["batch"]}

    def floor_run(self, spec):
        cmd = [self.floor, "--model", self.models[spec["model"]],
               "--steps", str(spec["steps"]), "--batch", str(spec["batch"]),
               "--threads", str(spec["threads"]), "--mode", spec["mode"],
               "--passes", str(spec.get("passes", 1))]
        if spec["mode"] != "floor":
            cmd += ["--layer", spec["layer"]]
        if spec.get("executor"):
            cmd += ["--executor", spec["executor"]]
        out, wall, rss, _ = timed(cmd, spec["threads"])
        j = last_json(out)
        r = {"pass": j["pass_seconds"][0], "load": j["load_seconds"],
             "wall": wall, "rss_kb": rss}
        if len(j["pass_seconds"]) > 1:
            r["warm"] = j["pass_seconds"][1]
        return r

    def eager_floor(self, spec):
        out, wall, rss, _ = timed(
            [PYTHON, os.path.join(BENCH, "eager_floor.py"), "--arch", spec["model"],
             "--model", self.models[spec["model"]], "--steps", str(spec["steps"]),
             "--batch", str(spec["batch"]), "--threads", str(spec["threads"]),
             "--passes", "2"], spec["threads"],
            # as librsicam and floor.c run it: OpenBLAS's workers sleep
            # after a Linear layer instead of spinning for 0.1 s on the
            # cores the convolutions need, on the CPU's own kernels
            # (core/torch/openblas.cpp), and large blocks sit in huge pages
            # (core/torch/huge_pages.cpp; glibc's own setting, without the
            # reuse of freed blocks)
            env_extra=dict(BLAS_KERNELS, OPENBLAS_THREAD_TIMEOUT="4",
                           GLIBC_TUNABLES="glibc.malloc.hugetlb=1"))
        j = last_json(out)
        return {"pass": j["pass_seconds"][0], "warm": j["pass_seconds"][1],
                "load": j["load_seconds"], "wall": wall, "rss_kb": rss}

    def run(self, spec):
        kind = spec["kind"]
        if kind == "eager":
            return self.eager_floor(spec)
        if kind == "published":
            return self.published(spec)
        if kind == "rsicam":
            return self.explain(spec)
        return self.floor_run(spec)


# --- the plan ---------------------------------------------------------------

def plan(args):
    """Every variant of the interleaved loop, keyed by a short name."""
    specs = []
    base = {"steps": args.steps, "batch": args.batch, "threads": args.threads}

    def add(key, **kw):
        s = dict(base)
        s.update(kw)
        s["key"] = key
        specs.append(s)

    for m in args.models:
        layer = MODELS[m]["layer"]
        add("%s:a" % m, kind="published", model=m, layer=layer)
        add("%s:b" % m, kind="rsicam", model=m, layer=layer)
        if not args.no_auto:
            add("%s:b:auto" % m, kind="rsicam", model=m, layer=layer,
                batch="auto")
        if not args.no_bf16:
            add("%s:b:bf16" % m, kind="rsicam", model=m, layer=layer,
                precision="bf16")
        add("%s:c" % m, kind="floor", mode="floor", model=m, layer=layer, passes=2)
        if not args.no_head:
            add("%s:b:plain" % m, kind="rsicam", model=m, layer=layer,
                env={"RSICAM_HEAD": "plain"})
            add("%s:b:folded" % m, kind="rsicam", model=m, layer=layer,
                env={"RSICAM_HEAD": "folded"})
            add("%s:b:small-pages" % m, kind="rsicam", model=m, layer=layer,
                env={"RSICAM_SMALL_PAGES": "1"})
        if not args.no_floors:
            for b in args.floor_batches:
                for ex in EXECUTORS:
                    add("%s:c:%s:B%d" % (m, ex, b), kind="floor", mode="floor",
                        model=m, layer=layer, passes=2, executor=ex, batch=b)
                add("%s:c:eager:B%d" % (m, b), kind="eager", model=m, batch=b)
        if not args.no_breakdown:
            add("%s:exposed" % m, kind="floor", mode="exposed", model=m, layer=layer)
            add("%s:grad" % m, kind="floor", mode="grad", model=m, layer=layer)
            # at the fixed batch: --batch auto may choose another batch for
            # two images' points than for one image's
            add("%s:b:warm" % m, kind="rsicam", model=m, layer=layer, warm=True)
    if "resnet50" in args.models:
        if not args.no_four:
            add("resnet50:b4", kind="rsicam", model="resnet50", layer=FOUR_LAYERS)
            add("resnet50:b:shallow", kind="rsicam", model="resnet50",
                layer=SHALLOWEST_OF_FOUR)
        if args.ideas:
            other = 1 if args.threads != 1 else 2
            add("resnet50:b:t%d" % other, kind="rsicam", model="resnet50",
                layer="layer4", threads=other)
            add("resnet50:c:t%d" % other, kind="floor", mode="floor",
                model="resnet50", layer="layer4", threads=other)
            for b in args.ideas_batches:
                if b == args.batch:
                    continue
                add("resnet50:b:B%d" % b, kind="rsicam", model="resnet50",
                    layer="layer4", batch=b)
                add("resnet50:c:B%d" % b, kind="floor", mode="floor",
                    model="resnet50", layer="layer4", batch=b)
    return specs


def run_all(args, runner, specs):
    results = {s["key"]: [] for s in specs}
    total = len(specs) * args.reps
    n = 0
    for rep in range(args.reps):
        k = rep % len(specs)
        order = specs[k:] + specs[:k]  # rotate: no variant always runs first
        for s in order:
            n += 1
            r = runner.run(s)
            results[s["key"]].append(r)
            log("[%d/%d] rep %d %-18s pass %.3fs wall %.2fs rss %d MB"
                % (n, total, rep + 1, s["key"], r["pass"], r["wall"], r["rss_kb"] // 1024))
    return results


def run_four_pairs(args, runner, specs, results):
    """More side-by-side runs of the four layers and the shallowest alone,
    appended to their keys in pairs (the report pairs them by index)."""
    pair = [s for s in specs if s["key"] in ("resnet50:b:shallow", "resnet50:b4")]
    if len(pair) != 2:
        return
    for i in range(args.four_pairs):
        for s in (pair if i % 2 == 0 else pair[::-1]):
            r = runner.run(s)
            results[s["key"]].append(r)
            log("[pair %d/%d] %-18s pass %.3fs wall %.2fs rss %d MB"
                % (i + 1, args.four_pairs, s["key"], r["pass"], r["wall"],
                   r["rss_kb"] // 1024))


def run_floor_pairs(args, runner, specs, results):
    """The sweep's fastest floor is the least of many medians, and the
    least of many noisy figures is low by luck (the 4d24ae0 run's 2.61 s
    for ResNet50 came back as 3.14-3.52 s, three passes by hand the next
    morning). So each model's winner is timed again in fresh processes,
    beside rsicam at its default, in pairs, the order alternating: under
    "KEY:again" and "KEY:beside" (the winner's and rsicam's runs)."""
    if args.no_floors or not args.floor_pairs:
        return
    by_key = {s["key"]: s for s in specs}
    for m, floor in true_floors(args, results).items():
        pair = [by_key[floor.key], by_key[default_b(results, m)]]
        names = ("%s:floor:again" % m, "%s:floor:beside" % m)
        for name in names:
            results[name] = []
        for i in range(args.floor_pairs):
            order = [0, 1] if i % 2 == 0 else [1, 0]
            for j in order:
                r = runner.run(pair[j])
                results[names[j]].append(r)
                log("[floor pair %d/%d] %-18s pass %.3fs warm %s wall %.2fs"
                    % (i + 1, args.floor_pairs, pair[j]["key"], r["pass"],
                       fmt(r.get("warm")), r["wall"]))


# --- report -----------------------------------------------------------------

def med(runs, field):
    vals = [r[field] for r in runs if field in r and r[field] is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return "%.*f" % (digits, v)


def mb(kb):
    return None if kb is None else kb / 1024.0


def verdict(value, goal, le=True):
    if value is None:
        return "-"
    ok = value <= goal if le else value >= goal
    return "yes" if ok else "**no**"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def report(args, res, extra, meta):
    L = []
    L.append("# rsicam CPU benchmark, %s" % meta["date"])
    L.append("")
    L.append("- machine: %s, %s cores (%s), %s" % (meta["host"], meta["cores"], meta["cpu"],
                                                   meta["kernel"]))
    touch = meta["first_touch"]
    L.append("- first write of memory: %.2f GB/s for pages new to the process, %.2f GB/s "
             "for pages just freed%s" % (
                 touch["fresh_gbs"], touch["again_gbs"],
                 "" if touch["reported_gib"] is None else
                 " (free page reporting: %.0f GiB handed back to the host so far)"
                 % touch["reported_gib"]))
    L.append("- load average (1/5/15 min): start %s, end %s%s" % (
        meta["load_start"], meta["load_end"],
        "" if max(meta["load_start"][0], meta["load_end"][0]) < QUIET_LOAD
        else " **(machine busy: absolute times are inflated, ratios less so)**"))
    L.append("- rsicam %s (build %s, %s), torch %s (Python side), commit %s" % (
        meta["rsicam"], meta["build"], meta["build_type"], meta["torch"], meta["commit"]))
    if args.note:
        L.append("- note: " + args.note)
    L.append("- settings: steps %d (%d points), batch %d, threads %d for every variant, "
             "%d interleaved repetition(s), medians; random-weight exports, one 224x224 image"
             % (args.steps, args.steps + 1, args.batch, args.threads, args.reps))
    L.append("- %s" % ("a pause of %g s before each timed process: every run's memory "
                       "new to it" % args.pause if args.pause else
                       "no pause between timed processes: a run may write pages the "
                       "one before it freed (`--pause`)"))
    L.append("")
    L.append("(a) published loop: `bench/published_loop.py`, eager torchvision model with the "
             "TorchScript file's state_dict, batch 1, full backward with parameter gradients "
             "per point; pass = image read to map (model load excluded). "
             "(b) `rsicam explain`: pass = results.jsonl \"seconds\" (image read to the sums, "
             "model load and map writing excluded); command = whole process. "
             "(c) floor: `rsicam-bench-floor`, %d no-grad forwards in batches of %d through "
             "the same TorchScript model and librsicam; loop = the forward calls only, first "
             "(cold) pass in the process, like one `rsicam explain`; warm = a second pass in "
             "the same process." % (args.steps + 1, args.batch))
    L.append("")

    # times
    rows = []
    for m in args.models:
        a, b, c = res["%s:a" % m], res["%s:b" % m], res["%s:c" % m]
        rows.append(["%s `%s`" % (m, MODELS[m]["layer"]),
                     med(a, "pass"), med(a, "wall"), med(b, "pass"), med(b, "wall"),
                     med(c, "pass"), med(c, "warm"), med(c, "load"), med(c, "wall")])
    L.append("## Time (seconds, medians)")
    L.append("")
    L.append(table(["model / layer", "(a) pass", "(a) process", "(b) pass", "(b) command",
                    "(c) loop cold", "(c) loop warm", "(c) model load", "(c) process"], rows))
    L.append("")

    rows = []
    for m in args.models:
        a, b, c = res["%s:a" % m], res["%s:b" % m], res["%s:c" % m]
        bc = med(b, "pass") / med(c, "pass")
        bcw = med(b, "pass") / med(c, "warm") if med(c, "warm") else None
        ab = med(a, "pass") / med(b, "pass")
        abw = med(a, "wall") / med(b, "wall")
        rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), bc, "<= %.2f" % GOAL_B_OVER_C,
                     verdict(bc, GOAL_B_OVER_C), bcw, ab, ">= %g" % GOAL_A_OVER_B,
                     verdict(ab, GOAL_A_OVER_B, le=False), abw])
    L.append("## Ratios")
    L.append("")
    L.append(table(["model / layer", "(b)/(c) pass/cold loop", "goal", "met",
                    "(b)/(c) pass/warm loop", "(a)/(b) pass/pass", "goal", "met",
                    "(a)/(b) process/command"], rows))
    L.append("")

    if not args.no_floors:
        L.extend(true_floor_report(args, res))
    if not args.no_auto:
        L.extend(auto_batch_report(args, res, meta))

    if not args.no_head:
        rows = []
        for m in args.models:
            b, p = res["%s:b" % m], res["%s:b:plain" % m]
            f = res["%s:b:folded" % m]
            rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), med(p, "pass"),
                         med(b, "pass"), med(b, "pass") / med(p, "pass"),
                         med(f, "pass"), med(f, "pass") / med(b, "pass"),
                         mb(med(p, "rss_kb")), mb(med(b, "rss_kb"))])
        L.append("## The frozen head (b) against the whole forward with gradients")
        L.append("")
        L.append(table(["model / layer", "RSICAM_HEAD=plain pass s", "frozen pass s",
                        "frozen / plain", "RSICAM_HEAD=folded pass s",
                        "folded / frozen", "plain max RSS MB", "frozen max RSS MB"],
                       rows))
        L.append("")
        rows = []
        for m in args.models:
            b, sp = res["%s:b" % m], res["%s:b:small-pages" % m]
            rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), med(sp, "pass"),
                         med(b, "pass"), med(b, "pass") / med(sp, "pass"),
                         mb(med(sp, "rss_kb")), mb(med(b, "rss_kb"))])
        L.append("## Huge pages (b) against libtorch's allocator "
                 "(RSICAM_SMALL_PAGES=1)")
        L.append("")
        L.append(table(["model / layer", "small pages pass s", "huge pages pass s",
                        "huge / small", "small max RSS MB", "huge max RSS MB"],
                       rows))
        L.append("")

    rows = []
    for m in args.models:
        rows.append(["%s `%s`" % (m, MODELS[m]["layer"])] +
                    [mb(med(res["%s:%s" % (m, k)], "rss_kb")) for k in ("a", "b", "c")])
    L.append("## Peak memory (max RSS of the whole process, MB, medians)")
    L.append("")
    L.append(table(["model / layer", "(a) published (Python + torch)", "(b) rsicam",
                    "(c) floor"], rows))
    L.append("")

    if "mem" in extra:
        e = extra["mem"]
        r = e["rss_many"] / e["rss_few"]
        L.append("## rsicam peak memory vs steps (ResNet50 `layer4`, batch %d)" % args.batch)
        L.append("")
        L.append(table(["steps", "max RSS MB", "pass s"],
                       [[str(args.steps), mb(e["rss_few"]), e["pass_few"]],
                        [str(args.mem_steps), mb(e["rss_many"]), e["pass_many"]]]))
        L.append("")
        L.append("ratio %d / %d steps: **%.3f** (goal <= %.2f: %s); %d-step figure: median of "
                 "the (b) runs, %d-step: one run" % (args.mem_steps, args.steps, r, GOAL_MEM,
                                                      verdict(r, GOAL_MEM), args.steps,
                                                      args.mem_steps))
        L.append("")

    bf16 = [m for m in args.models if "%s:b:bf16" % m in res]
    if bf16:
        rows = []
        for m in bf16:
            b, h = res["%s:b" % m], res["%s:b:bf16" % m]
            rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), med(b, "pass"),
                         med(h, "pass"), med(h, "pass") / med(b, "pass"),
                         med(b, "wall"), med(h, "wall")])
        L.append("## `--precision bf16` on this CPU (b)")
        L.append("")
        L.append(table(["model / layer", "fp32 pass s", "bf16 pass s",
                        "bf16 / fp32 pass", "fp32 command s", "bf16 command s"],
                       rows))
        L.append("")
        L.append("bf16 runs the network before the layer under bfloat16 "
                 "autocast and each path's two end points in float32; the "
                 "maps' agreement with fp32 is `bench/gpu_check.py`'s parity "
                 "part (it runs on the CPU too).")
        L.append("")

    if "resnet50:b4" in res:
        one, four = res["resnet50:b"], res["resnet50:b4"]
        low = res["resnet50:b:shallow"]
        r = med(four, "pass") / med(low, "pass")
        rd = med(four, "pass") / med(one, "pass")
        # the two run one after the other in every repetition and in the
        # extra pairs: each pair's own ratio meets one load, a ratio of
        # medians several
        pairs = min(len(four), len(low))
        paired = statistics.median(f["pass"] / s["pass"] for f, s in zip(four, low))
        L.append("## Four layers in one run vs the shallowest alone (ResNet50)")
        L.append("")
        L.append(table(["layers", "pass s", "command s", "max RSS MB"],
                       [["`layer4`", med(one, "pass"), med(one, "wall"), mb(med(one, "rss_kb"))],
                        ["`%s`" % SHALLOWEST_OF_FOUR, med(low, "pass"), med(low, "wall"),
                         mb(med(low, "rss_kb"))],
                        ["`%s`" % FOUR_LAYERS, med(four, "pass"), med(four, "wall"),
                         mb(med(four, "rss_kb"))]]))
        L.append("")
        L.append("The head is frozen up to the shallowest layer, so four layers cost what "
                 "that layer alone costs: ratio four / `%s` (pass) **%.3f** (goal <= %.2f: "
                 "%s); the median of each pair's own ratio (the two run side by "
                 "side): %.3f; %d pairs (%d interleaved repetitions, then %d "
                 "more pairs); four / `layer4`: %.3f"
                 % (SHALLOWEST_OF_FOUR, r, GOAL_FOUR_OVER_SHALLOWEST,
                    verdict(r, GOAL_FOUR_OVER_SHALLOWEST), paired,
                    pairs, args.reps, pairs - args.reps, rd))
        L.append("")

    if not args.no_breakdown:
        L.append("## Where rsicam's time goes (medians, seconds)")
        L.append("")
        L.append("All cold (first pass in a fresh process) unless marked warm. floor = (c); "
                 "exposed = rsicam's layer-exposing forward with autograd recording the tail "
                 "(`rsicam-bench-floor --mode exposed`: `rsi_model_run`, no target); grad = "
                 "the same plus the softmax-score backward through the tail (`--mode grad`, "
                 "one target); rsicam pass = (b) = grad + Riemann-Stieltjes sums + image read "
                 "+ baseline + finiteness checks (the classes come from the first "
                 "forward, whose first row is the image). Warm: floor = the second pass in the floor's process; "
                 "rsicam = what a second image adds: a two-image `rsicam explain` command "
                 "(same pixels, other name) less the one-image command of the same "
                 "repetition, the median over repetitions (the second image's own record "
                 "would count the forwards it shares with the first).")
        L.append("")
        rows = []
        for m in args.models:
            c = med(res["%s:c" % m], "pass")
            cw = med(res["%s:c" % m], "warm")
            ex = med(res["%s:exposed" % m], "pass")
            gr = med(res["%s:grad" % m], "pass")
            bp = med(res["%s:b" % m], "pass")
            bw = second_image(res, m)
            rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), c, ex, gr, bp, cw, bw,
                         ex / c, gr / c, bp / c, bw / cw if cw else None])
        L.append(table(["model / layer", "floor", "exposed", "grad", "rsicam pass",
                        "floor warm", "rsicam warm", "exposed/floor", "grad/floor",
                        "(b)/(c) cold", "(b)/(c) warm"], rows))
        L.append("")
        rows = []
        for m in args.models:
            c = med(res["%s:c" % m], "pass")
            ex = med(res["%s:exposed" % m], "pass")
            gr = med(res["%s:grad" % m], "pass")
            bp = med(res["%s:b" % m], "pass")
            rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), (ex - c) / c, (gr - ex) / c,
                         (bp - gr) / c, (bp - c) / c,
                         (second_image(res, m) -
                          med(res[default_b(res, m)], "pass")) / c])
        L.append("Overhead over the cold floor, as fractions of it (exposed includes "
                 "cutting and freezing the head):")
        L.append("")
        L.append(table(["model / layer", "exposed - floor (exposing graph, frozen head)",
                        "grad - exposed (backward)",
                        "pass - grad (sums, I/O, baseline, checks)", "total (b)/(c) - 1",
                        "warm - cold rsicam"], rows))
        L.append("")

    if args.ideas:
        L.append("## Ideas to measure (ResNet50 `layer4`)")
        L.append("")
        other = 1 if args.threads != 1 else 2
        rows = []
        for t in sorted({args.threads, other}):
            kb = "resnet50:b" if t == args.threads else "resnet50:b:t%d" % t
            kc = "resnet50:c" if t == args.threads else "resnet50:c:t%d" % t
            bp, cp = med(res[kb], "pass"), med(res[kc], "pass")
            rows.append(["threads %d" % t, bp, cp, bp / cp, mb(med(res[kb], "rss_kb"))])
        for bsz in sorted(set(args.ideas_batches) | {args.batch}):
            kb = "resnet50:b" if bsz == args.batch else "resnet50:b:B%d" % bsz
            kc = "resnet50:c" if bsz == args.batch else "resnet50:c:B%d" % bsz
            bp, cp = med(res[kb], "pass"), med(res[kc], "pass")
            rows.append(["batch %d" % bsz, bp, cp, bp / cp, mb(med(res[kb], "rss_kb"))])
        L.append(table(["variant", "(b) pass s", "(c) loop s", "(b)/(c)", "(b) max RSS MB"],
                       rows))
        L.append("")
        tb = {t: med(res["resnet50:b" if t == args.threads else "resnet50:b:t%d" % t], "pass")
              for t in (args.threads, other)}
        L.append("rsicam threads %d vs %d: %.2fx the time" % (
            min(tb), max(tb), tb[min(tb)] / tb[max(tb)]))
        L.append("")
        if "freeze" in extra:
            fz = extra["freeze"]
            rows = []
            for part in ("model", "prefix"):
                if part not in fz:
                    continue
                d = fz[part]
                name = ("whole ResNet50" if part == "model"
                        else "part before `%s`" % fz.get("prefix_until"))
                for k in d["median_seconds"]:
                    rows.append([name, {"whole": "as loaded"}.get(k, k), d["median_seconds"][k], d["ratio_to_whole"][k],
                                 "%.2g" % d["max_abs_diff"][k]])
            L.append("torch.jit.freeze / optimize_for_inference (`bench/freeze_probe.py`, "
                     "no-grad forward, batch %d, %d threads, %d warm-up + %d timed batches "
                     "per variant, interleaved; medians per batch):"
                     % (fz["batch"], fz["threads"], fz["warmup"], fz["reps"]))
            L.append("")
            L.append(table(["module", "variant", "s / batch", "vs as loaded", "max |diff|"],
                           rows))
            L.append("")

    L.append("## Raw runs (pass seconds per repetition, in run order; "
             "cold / warm where a process ran two passes)")
    L.append("")
    for key, runs in res.items():
        L.append("- `%s`: %s" % (key, ", ".join(
            "%.3f / %.3f" % (r["pass"], r["warm"]) if r.get("warm") is not None
            else "%.3f" % r["pass"] for r in runs)))
    classes = {k: sorted({r.get("class") for r in v if "class" in r})
               for k, v in res.items() if any("class" in r for r in v)}
    L.append("- classes explained: %s" % ", ".join("%s %s" % (k, v) for k, v in classes.items()))
    L.append("")
    return "\n".join(L)


def second_image(res, m):
    """What a second image adds to `rsicam explain`: the two-image command
    less the one-image command of the same repetition, the median over
    repetitions, both at the bench's --batch (--batch auto chooses for the
    points queued, so two images' points may get another batch than one
    image's: 8 against 4 for ResNet50 in the cd37689 run). (The
    difference of the two medians let one slow repetition of the
    one-image command pull the figure down: 0.80 s for ResNet50 in the
    852ff44 run, 1.21 s by repetition.)"""
    pairs = zip(res["%s:b:warm" % m], res["%s:b" % m])
    return statistics.median(two["wall"] - one["wall"] for two, one in pairs)


def default_b(res, m):
    """rsicam as a user runs it: --batch auto, where the bench ran it."""
    return "%s:b:auto" % m if "%s:b:auto" % m in res else "%s:b" % m


# A model's true floor in the sweep: its median seconds, what won, the
# winner's key and field ("pass" for a cold pass, "warm" for the
# process's second).
Floor = collections.namedtuple("Floor", "seconds won_by key field")


def true_floors(args, res):
    """Each model's true floor in the sweep, a Floor."""
    best = {}
    for m in args.models:
        for b in args.floor_batches:
            for k in list(EXECUTORS) + ["eager"]:
                key = "%s:c:%s:B%d" % (m, k, b)
                for label in ("pass", "warm"):
                    v = med(res[key], label)
                    if m not in best or v < best[m].seconds:
                        best[m] = Floor(v, "%s, batch %d, %s" % (
                            k, b, "cold" if label == "pass" else "warm"), key, label)
    return best


def floor_goal_ratio(res, m, best):
    """rsicam's default pass over the true floor (best, m's Floor), as the
    goal is judged: the median over the side-by-side pairs of each pair's
    ratio, where the bench ran them (run_floor_pairs); else the sweep's
    medians' ratio. Returns (ratio, the floor's seconds that go with it)."""
    again, beside = res.get("%s:floor:again" % m), res.get("%s:floor:beside" % m)
    if again and beside:
        return (statistics.median(b["pass"] / f[best.field] for f, b in zip(again, beside)),
                med(again, best.field))
    return med(res[default_b(res, m)], "pass") / best.seconds, best.seconds


def true_floor_report(args, res):
    """The true floor: the fastest of every executor, eager PyTorch and batch
    size, cold or warm, and rsicam's pass against it."""
    L = ["## The true floor: %d no-grad forwards the fastest way (seconds, medians)"
         % (args.steps + 1), ""]
    kinds = list(EXECUTORS) + ["eager"]
    header = ["model"] + ["%s B%d cold / warm" % (k, b)
                          for b in args.floor_batches for k in kinds]
    rows = []
    for m in args.models:
        row = ["%s" % m]
        for b in args.floor_batches:
            for k in kinds:
                runs = res["%s:c:%s:B%d" % (m, k, b)]
                row.append("%.3f / %.3f" % (med(runs, "pass"), med(runs, "warm")))
        rows.append(row)
    L.append(table(header, rows))
    best = true_floors(args, res)
    L.append("")
    rows = []
    for m in args.models:
        b = med(res[default_b(res, m)], "pass")
        a = med(res["%s:a" % m], "pass")
        goal = GOAL_B_OVER_TRUE_FLOOR[m]
        ratio, floor = floor_goal_ratio(res, m, best[m])
        beside = res.get("%s:floor:beside" % m)
        # warm against warm: a second image's cost, where the bench ran it
        w = second_image(res, m) if "%s:b:warm" % m in res else None
        freeze = med(res[default_b(res, m)], "freeze")
        rows.append(["%s `%s`" % (m, MODELS[m]["layer"]), best[m].seconds,
                     best[m].won_by, b, freeze, b / best[m].seconds,
                     floor if beside else None, med(beside, "pass") if beside else None,
                     ratio, "<= %.2f" % goal, verdict(ratio, goal),
                     w, w / floor if w else None,
                     a / b, ">= %g" % GOAL_A_OVER_B, verdict(a / b, GOAL_A_OVER_B, le=False)])
    L.append(table(["model / layer", "sweep's fastest s", "won by", "(b) pass s",
                    "of which freezing the head s", "(b) / sweep's fastest",
                    "winner again s", "(b) beside it s", "(b) / true floor",
                    "goal", "met", "(b) second image s",
                    "second image / true floor", "(a)/(b)", "goal", "met"], rows))
    L.append("")
    L.append("(b) = rsicam at its default, --batch auto (batch %d where the bench ran "
             "without it); its pass is a fresh process's first image (cold), while the true "
             "floor may be a warm pass. The sweep's fastest is the least of the table "
             "above's medians, and so low by luck; the winner was then timed again "
             "in %d fresh processes, each beside one of rsicam's, the order alternating: "
             "\"winner again\" and \"(b) beside it\" are those medians, and (b) / true "
             "floor, which the goal is judged on, the median of the pairs' ratios "
             "(without pairs, the sweep's ratio). A second image in the same command "
             "is rsicam's warm figure: the two-image command less the one-image command, "
             "both at batch %d, repetition by repetition, the median. Freezing the head "
             "(RSICAM_TRACE: its parameters made constants, on a CPU in float32 its "
             "convolutions' weights prepacked for oneDNN) is done once, in the first "
             "image's first forward." % (args.batch, args.floor_pairs, args.batch))
    L.append("")
    return L


def prime_auto_batch(args, runner):
    """--batch auto measures on its first run and caches the measurement:
    measure here, untimed (a fresh cache, so on this machine as it is now),
    and return each model's measurement from the cache file (each command
    chooses from it for its own points: the timed runs' trace says what)."""
    shutil.rmtree(BATCH_CACHE, ignore_errors=True)
    chosen = {}
    for m in args.models:
        log("--batch auto: measuring on %s" % m)
        before = set(os.listdir(BATCH_CACHE)) if os.path.isdir(BATCH_CACHE) else set()
        runner.run({"kind": "rsicam", "model": m, "layer": MODELS[m]["layer"],
                    "steps": 1, "batch": "auto", "threads": args.threads})
        new = sorted(set(os.listdir(BATCH_CACHE)) - before)
        if len(new) != 1:
            raise RunFailed("--batch auto left %d cache files for %s%s" % (
                len(new), m, "" if new else " (none is cached when other work "
                "held the CPU while it measured: run the bench on a quiet "
                "machine)"))
        with open(os.path.join(BATCH_CACHE, new[0])) as f:
            stored = json.load(f)
        chosen[m] = {"ms_per_point": stored["ms_per_point"],
                     "once_ms": stored["once_ms"]}
    return chosen


def auto_batch_report(args, res, meta):
    """What --batch auto chose here, and what it gives against batch 8."""
    L = ["## `--batch auto`: measured once, then cached", ""]
    rows = []
    for m in args.models:
        got = meta["auto_batch"][m]
        auto, fixed = med(res["%s:b:auto" % m], "pass"), med(res["%s:b" % m], "pass")
        per, once = (", ".join("%s: %.1f" % (k, v) for k, v in
                               sorted(got[f].items(), key=lambda kv: int(kv[0])))
                     for f in ("ms_per_point", "once_ms"))
        chosen = sorted({r.get("batch") for r in res["%s:b:auto" % m]} - {None})
        rows.append(["%s `%s`" % (m, MODELS[m]["layer"]),
                     ", ".join(map(str, chosen)) or "?", per, once, auto,
                     fixed, auto / fixed])
    L.append(table(["model / layer", "chosen", "measured ms per point (rows: ms)",
                    "measured one-time ms (rows: ms)",
                    "(b) auto pass s", "(b) batch %d pass s" % args.batch,
                    "auto / batch %d" % args.batch], rows))
    L.append("")
    return L


def git_head():
    """The checkout's short commit, and whether core/ differs from it."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "core"],
                               capture_output=True, text=True).stdout.strip()
        return out, bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        return "", False


def git_commit():
    head, dirty = git_head()
    return (head or "?") + (" (core/ modified)" if dirty else "")


def results_stem(tag):
    """bench/results/<date>-cpu-<commit>[-modified][-TAG], without suffix.

    The commit is in the name so that two runs on one day (before and after
    a change) each keep their file; a stem already taken is refused.
    """
    if tag and not re.fullmatch(r"[A-Za-z0-9._-]+", tag):
        sys.exit("bench: --save '%s': a TAG is letters, digits, '.', '_' "
                 "and '-'" % tag)
    head, dirty = git_head()
    parts = [datetime.date.today().isoformat(), "cpu", head or "nocommit"]
    if dirty:
        parts.append("modified")
    if tag:
        parts.append(tag)
    stem = os.path.join(BENCH, "results", "-".join(parts))
    for suffix in (".md", ".json"):
        if os.path.exists(stem + suffix):
            sys.exit("bench: %s%s exists: rsicam never overwrites a result; "
                     "pass --save with another TAG" % (stem, suffix))
    return stem


def first_touch(mib=256, pause=2.0):
    """How fast this machine's memory is written for the first time, in
    GB/s: pages fresh to the process after a pause, then as many again at
    once (the kernel hands back the pages just freed). A VM whose host
    takes freed memory back (Linux's free page reporting, a balloon) pays
    a host fault on the first; there, every megabyte a run touches anew
    costs it time, which a cold pass pays and a warm one does not."""
    import mmap

    def rate():
        n = mib << 20
        m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        if hasattr(mmap, "MADV_HUGEPAGE"):  # as librsicam's large blocks
            m.madvise(mmap.MADV_HUGEPAGE)
        t = time.perf_counter()
        for i in range(0, n, 4096):
            m[i] = 1
        seconds = time.perf_counter() - t
        m.close()
        return n / seconds / 1e9

    time.sleep(pause)
    fresh = rate()
    reported = None
    try:
        with open("/sys/module/page_reporting/parameters/reported_kib") as f:
            reported = int(f.read()) / 2**20  # GiB handed back so far
    except (OSError, ValueError):
        pass
    return {"fresh_gbs": fresh, "again_gbs": rate(), "reported_gib": reported}


def machine_meta(args, rsicam):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    torch_version = subprocess.run([PYTHON, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    version = subprocess.run([rsicam, "--version"], capture_output=True,
                             text=True).stdout.strip() or "?"
    return {"host": platform.node(), "cores": os.cpu_count(), "cpu": cpu,
            "kernel": platform.release(), "torch": torch_version or "?",
            "rsicam": version, "build": args.build, "build_type": build_type(args.build),
            "commit": git_commit(), "first_touch": first_touch()}


def main(argv):
    args = parse_args(argv)
    # Known before the first run, so that a taken name costs no minutes.
    stem = results_stem(args.save) if args.save is not None else None
    os.makedirs(args.work, exist_ok=True)
    rsicam, floor = ensure_built(args.build)
    models = ensure_models(args.work, args.models)
    image = ensure_image(args.work)

    if args.wait_quiet > 0:
        deadline = time.time() + args.wait_quiet
        while loadavg()[0] >= QUIET_LOAD and time.time() < deadline:
            log("load average %.2f >= %g, waiting" % (loadavg()[0], QUIET_LOAD))
            time.sleep(30)
    meta = machine_meta(args, rsicam)
    meta["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    meta["load_start"] = loadavg()
    if meta["load_start"][0] >= QUIET_LOAD:
        log("warning: load average %.2f >= %g: the machine is busy"
            % (meta["load_start"][0], QUIET_LOAD))

    global BATCH_CACHE, BLAS_KERNELS, PAUSE
    BATCH_CACHE = os.path.join(args.work, "batch-cache")
    BLAS_KERNELS = openblas_as_librsicam_runs_it(args.build)
    if BLAS_KERNELS:
        log("Python's runs get OpenBLAS's kernels as librsicam has them: %s"
            % BLAS_KERNELS)
    PAUSE = args.pause
    runner = Runner(args, rsicam, floor, models, image)
    if not args.no_auto:
        meta["auto_batch"] = prime_auto_batch(args, runner)
    specs = plan(args)
    t0 = time.time()
    try:
        res = run_all(args, runner, specs)
        run_four_pairs(args, runner, specs, res)
        run_floor_pairs(args, runner, specs, res)
        extra = {}
        if args.mem_steps and "resnet50" in args.models:
            log("peak memory run: rsicam --steps %d (ResNet50 layer4)" % args.mem_steps)
            r = runner.run({"kind": "rsicam", "model": "resnet50", "layer": "layer4",
                            "steps": args.mem_steps, "batch": args.batch,
                            "threads": args.threads})
            extra["mem"] = {"rss_many": r["rss_kb"], "pass_many": r["pass"],
                            "rss_few": med(res["resnet50:b"], "rss_kb"),
                            "pass_few": med(res["resnet50:b"], "pass")}
        if args.ideas and "resnet50" in args.models:
            log("freeze probe (Python)")
            out, _, _, _ = timed([PYTHON, os.path.join(BENCH, "freeze_probe.py"),
                               "--arch", "resnet50", "--model", models["resnet50"],
                               "--batch", str(args.batch), "--threads", str(args.threads),
                               "--reps", str(max(3, 2 * args.reps)), "--warmup", "2"],
                              args.threads)
            extra["freeze"] = last_json(out)
    except RunFailed as e:
        sys.exit("bench: a run failed: %s" % e)
    meta["load_end"] = loadavg()
    meta["minutes"] = (time.time() - t0) / 60
    text = report(args, res, extra, meta)
    text += "\n(benchmark took %.1f minutes)\n" % meta["minutes"]
    print(text)
    if stem is not None:
        os.makedirs(os.path.dirname(stem), exist_ok=True)
        raw = {"meta": meta, "args": {k: v for k, v in vars(args).items()},
               "runs": res, "extra": extra}
        try:
            # "x": a file that appeared while the benchmark ran is not replaced.
            with open(stem + ".json", "x") as f:
                json.dump(raw, f, indent=1)
            with open(stem + ".md", "x") as f:
                f.write(text)
        except FileExistsError as e:
            sys.exit("bench: %s appeared while the benchmark ran: not replaced; "
                     "the report is printed above" % e.filename)
        log("wrote %s.md and %s.json" % (stem, stem))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
