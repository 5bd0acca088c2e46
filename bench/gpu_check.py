"""rsicam on a GPU: maps against the CPU's, and the published loop, rsicam and
the forward-only floor timed side by side (bench/README.md, "GPU check").

Run through bench/gpu_check.sh, which builds rsicam against this Python's
libtorch first. Without a GPU everything runs on the CPU (the parity part
then compares the CPU with itself), so the script can be tried anywhere.

Parts, each printed as a markdown table and written to OUT/gpu_check.json:
  parity     rsicam maps with --device D against --device cpu, and with
             --precision bf16 against fp32 on D: ResNet50 layer4 and layer3,
             VGG19 features.36; rsi relu/guided/plain and Grad-CAM, softmax
             and logit; cam correlation >= 0.999 required. Besides, with
             the head's batch norm folded (RSICAM_HEAD=folded) against
             the default on D: the maps' correlation and the largest
             shift in completeness gap (and the device's against the
             CPU's).
  timing     per model (ResNet50 layer4, VGG19 features.36; 224x224,
             m steps): (a) the published loop on D (published_loop.py,
             warm), (b) rsicam explain on D over N images, per image at
             the stream's pace once started (RSICAM_TRACE's stream line:
             from the end of the first forward to the end of the last),
             all outputs written, with 1, 4 and 8 images' m + 1 points per
             forward (fp32 and bf16 head), and from the median forward
             after the first (points over the time since the last forward
             ended), (c) the floor: the same points in
             one no-grad forward of the same TorchScript file in this
             process, per image (fp32; bf16 autocast; bf16 channels-last);
             then rsicam fp32 at 4 images per forward with the whole
             forward under gradients (RSICAM_HEAD=plain), with the head's
             batch norm folded (RSICAM_HEAD=folded) and under the legacy
             and simple executors, against the default.
  profile    RSICAM_PROFILE traces of ResNet50 layer4 at 8 images per
             forward (fp32, bf16), kept in OUT and summarised per forward
             by trace_summary.py: device busy and idle, host syncs, the
             costliest kernels and operators.
Exit status 1 when a parity case misses its bar.
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import trace_summary

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PARITY_CASES = [("resnet50", "layer4"), ("resnet50", "layer3"),
                ("vgg19", "features.36")]
TIMING_CASES = [("resnet50", "layer4"), ("vgg19", "features.36")]
IMAGES_PER_FORWARD = (1, 4, 8)
# rsicam's other ways of running the same forward, timed at 4 images per
# forward in fp32 against the default (frozen head, TorchScript's default
# executor on a GPU): is each default the faster one on this device?
VARIANTS = (("plain head", {"RSICAM_HEAD": "plain"}),
            ("folded head", {"RSICAM_HEAD": "folded"}),
            ("legacy executor", {"RSICAM_EXECUTOR": "legacy"}),
            ("simple executor", {"RSICAM_EXECUTOR": "simple"}))
VARIANT_PER_FORWARD = 4
PROFILE_IMAGES = 32  # 4 forwards of 8 images
BAR = 0.999


def log(msg):
    print("gpu_check: " + msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True, help="build directory holding rsicam")
    p.add_argument("--out", required=True, help="work and report directory")
    p.add_argument("--device", default=None,
                   help="cuda when torch sees a GPU, else cpu")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--images", type=int, default=64,
                   help="images per rsicam timing run (default 64)")
    p.add_argument("--reps", type=int, default=5,
                   help="repetitions of each floor timing (default 5)")
    p.add_argument("--skip-parity", action="store_true")
    p.add_argument("--skip-timing", action="store_true")
    p.add_argument("--skip-profile", action="store_true")
    return p.parse_args(argv)


def run(cmd, env=None):
    """stdout and stderr of cmd, which must succeed."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError("exit %d: %s\n%s" % (proc.returncode, " ".join(cmd),
                                               proc.stderr[-3000:]))
    return proc.stdout, proc.stderr


def rsicam_env():
    """rsicam's environment: the libraries gpu_check.sh unpacked, for rsicam
    alone (this Python keeps the system's)."""
    env = dict(os.environ)
    extra = os.environ.get("RSICAM_RUN_LIBRARY_PATH")
    if extra:
        env["LD_LIBRARY_PATH"] = extra + (":" + env["LD_LIBRARY_PATH"]
                                          if env.get("LD_LIBRARY_PATH") else "")
    return env


def prepare(work):
    models = {}
    for arch in sorted({a for a, _ in PARITY_CASES + TIMING_CASES}):
        path = os.path.join(work, arch + ".pt")
        if not os.path.exists(path):
            log("exporting %s (random weights)" % arch)
            run([sys.executable, os.path.join(ROOT, "tools", "export_torchvision.py"),
                 "--arch", arch, "--random-weights", "--out", path])
        models[arch] = path
    image = os.path.join(work, "parity-224.png")
    if not os.path.exists(image):
        run([sys.executable, os.path.join(ROOT, "tests", "reference", "make_image.py"),
             image])
    return models, image


def explain(args, model, layer, images, out, device, precision, extra=(),
            env=None):
    """rsicam explain's records and its trace (RSICAM_TRACE=1); env: more
    environment variables."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [os.path.join(args.build, "rsicam"), "explain", "--model", model,
           "--layer", layer, "--out", out, "--steps", str(args.steps),
           "--device", device, "--precision", precision, "--quiet"]
    for im in images:
        cmd += ["--image", im]
    _, trace = run(cmd + list(extra),
                   env=dict(rsicam_env(), RSICAM_TRACE="1", **(env or {})))
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    bad = [r for r in recs if r.get("status") == "failed"]
    if bad:
        raise RuntimeError("rsicam failed: %s" % bad[0])
    return recs, trace


def correlation(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.allclose(a, b, atol=1e-7) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def compare_dirs(ref, other):
    """min correlation over the cam files both hold, their count, and the
    min per map kind (method-variant, e.g. rsi-relu, gradcam)."""
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ref, "*.cam.npy")))
    by_kind = {}
    for n in names:
        kind = n[:-len(".cam.npy")].split(".")[-2]  # STEM = IMAGE.LAYER.KIND.SCORE
        c = correlation(np.load(os.path.join(ref, n)), np.load(os.path.join(other, n)))
        by_kind[kind] = min(c, by_kind.get(kind, 1.0))
    low = min(by_kind.values()) if by_kind else float("nan")
    return low, len(names), by_kind


def parity(args, models, image, work):
    every = ["--method", "rsi,gradcam", "--variant", "relu,guided,plain",
             "--score", "softmax,logit", "--batch", "16"]
    rows, ok = [], True
    for arch, layer in PARITY_CASES:
        dirs, recs, cls = {}, {}, []
        for tag, device, precision, env in [
                ("cpu", "cpu", "fp32", None),
                ("dev", args.device, "fp32", None),
                ("bf16", args.device, "bf16", None),
                ("folded", args.device, "fp32", {"RSICAM_HEAD": "folded"})]:
            d = os.path.join(work, "parity", "%s-%s-%s" % (arch, layer, tag))
            # the CPU's class everywhere: near-tied logits of a random
            # model may rank differently on another device
            recs[tag], _ = explain(args, models[arch], layer, [image], d, device,
                                   precision, every + cls, env)
            cls = cls or ["--class", str(recs[tag][0]["class"])]
            dirs[tag] = d
        dev_cpu, n, _ = compare_dirs(dirs["cpu"], dirs["dev"])
        bf16_fp32, _, bf16_kinds = compare_dirs(dirs["dev"], dirs["bf16"])
        folded, _, _ = compare_dirs(dirs["dev"], dirs["folded"])
        passed = dev_cpu >= BAR and bf16_fp32 >= BAR
        ok = ok and passed
        rows.append({"model": arch, "layer": layer, "maps": n,
                     "min_corr_device_vs_cpu": dev_cpu,
                     "min_corr_bf16_vs_fp32": bf16_fp32,
                     "min_corr_bf16_vs_fp32_by_map": bf16_kinds,
                     "min_corr_folded_vs_frozen": folded,
                     "max_gap_shift_device_vs_cpu":
                         gap_shift(recs["cpu"], recs["dev"]),
                     "max_gap_shift_folded_vs_frozen":
                         gap_shift(recs["dev"], recs["folded"]),
                     "pass": passed})
        log("parity %s %s: %d maps, device/cpu %.6f, bf16/fp32 %.6f, "
            "folded/frozen head %.6f" % (arch, layer, n, dev_cpu, bf16_fp32,
                                         folded))
    return rows, ok


def gap_shift(a, b):
    """The largest change in completeness gap between two runs' records of
    the same maps (RSICAM_HEAD=folded's bound is 1e-6 on the CPU)."""
    def key(r):
        return r.get("method"), r.get("variant"), r.get("score")
    gaps = {key(r): r["completeness_gap"]
            for r in a if r.get("completeness_gap") is not None}
    shifts = [abs(r["completeness_gap"] - gaps[key(r)]) for r in b
              if key(r) in gaps and r.get("completeness_gap") is not None]
    return max(shifts) if shifts else float("nan")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def floor(path, device, rows, reps, mode):
    """Median seconds of one no-grad forward of rows points."""
    dev = torch.device(device)
    m = torch.jit.load(path, map_location=dev).eval()
    x = torch.randn(rows, 3, 224, 224, device=dev)
    if mode == "bf16-cl":
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16,
                                         enabled=mode != "fp32"):
        for i in range(reps + 3):  # the first runs profile and optimise
            sync(dev)
            t0 = time.perf_counter()
            m(x)
            sync(dev)
            if i >= 3:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def published(args, arch, model, layer, image):
    out, _ = run([sys.executable, os.path.join(BENCH, "published_loop.py"),
                  "--arch", arch, "--model", model, "--layer", layer,
                  "--image", image, "--steps", str(args.steps),
                  "--device", args.device, "--warmup", "2",
                  "--threads", str(torch.get_num_threads())])
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def rsicam_stream(args, model, layer, images, work, precision, per_forward,
                  variant=None):
    """rsicam over all images with per_forward images a forward (each
    image's m points; its own row, besides, stands for its last point),
    every output written: seconds per image at the stream's pace once
    started (rsicam's trace: from the end of the first forward to the end
    of the last, over the points between, whose time includes the image
    rows', times m; process start, model load and device start-up drop
    out), and the median milliseconds an image's files kept it waiting
    after the next forward. The trace is kept in OUT. variant: one of
    VARIANTS, else the default."""
    tag = "%s-%s-x%d" % (os.path.basename(model), precision, per_forward)
    if variant:
        tag += "-" + variant[0].replace(" ", "-")
    _, trace = explain(args, model, layer, images,
                       os.path.join(work, "timing", tag), args.device, precision,
                       ["--batch", str(per_forward * args.steps)],
                       env=variant[1] if variant else None)
    with open(os.path.join(args.out, "trace-%s.txt" % tag), "w") as f:
        f.write(trace)
    pace = re.findall(r"stream: .* ([0-9.]+) ms per point", trace)
    if not pace:  # one forward held every image: no pace to take
        log("%s: %d images make one forward; no pace" % (tag, len(images)))
        pace = ["nan"]
    waits = [float(v) for v in
             re.findall(r"then files ([0-9.]+) ms more", trace)]
    wait = statistics.median(waits[1:]) if len(waits) > 1 else float("nan")
    # per point, each forward after the first: the time since the last
    # ended over its points; the median shrugs off a one-time cost
    shares = [float(ms) / int(points) for points, ms in re.findall(
        r"forward: (\d+) points .*, ([0-9.]+) ms after the last", trace)]
    steady = statistics.median(shares) if shares else float("nan")
    return (1e-3 * float(pace[-1]) * args.steps, wait,
            1e-3 * steady * args.steps)


def copies(image, n, work):
    """n copies of image, as n files (rsicam reads each)."""
    images = []
    for i in range(n):
        p = os.path.join(work, "img%03d.png" % i)
        shutil.copyfile(image, p)
        images.append(p)
    return images


def timing(args, models, image, work):
    images = copies(image, args.images, work)
    rows, points = [], args.steps + 1
    for arch, layer in TIMING_CASES:
        r = {"model": arch, "layer": layer}
        log("timing %s %s" % (arch, layer))
        r["published_s"] = published(args, arch, models[arch], layer, image)
        for k in IMAGES_PER_FORWARD:
            for prec in ("fp32", "bf16"):
                (r["rsicam_%s_x%d_s" % (prec, k)],
                 r["files_wait_%s_x%d_ms" % (prec, k)],
                 r["rsicam_median_%s_x%d_s" % (prec, k)]) = rsicam_stream(
                    args, models[arch], layer, images, work, prec, k)
            for mode in ("fp32", "bf16", "bf16-cl"):
                r["floor_%s_x%d_s" % (mode, k)] = floor(
                    models[arch], args.device, k * points, args.reps, mode) / k
            for prec in ("fp32", "bf16"):
                r["rsicam_over_floor_%s_x%d" % (prec, k)] = (
                    r["rsicam_%s_x%d_s" % (prec, k)] / r["floor_%s_x%d_s" % (prec, k)])
        r["variants_s"] = {
            name: rsicam_stream(args, models[arch], layer, images, work, "fp32",
                                VARIANT_PER_FORWARD, (name, env))[0]
            for name, env in VARIANTS}
        best = min(r["rsicam_fp32_x%d_s" % k] for k in IMAGES_PER_FORWARD)
        r["published_over_rsicam"] = r["published_s"] / best
        rows.append(r)
    return rows


def profile(args, models, image, work):
    """Where a forward's time goes: RSICAM_PROFILE over PROFILE_IMAGES
    images of ResNet50 layer4 at 8 images per forward, fp32 and bf16,
    summarised by trace_summary.py per forward after the first (the
    profiler's own overhead slows these runs: their times are not the
    timing part's). Needs a libtorch with Kineto (pip PyTorch has it)."""
    images = copies(image, PROFILE_IMAGES, work)
    rows = []
    for prec in ("fp32", "bf16"):
        tag = "resnet50-layer4-%s-x8" % prec
        path = os.path.join(args.out, "profile-%s.json" % tag)
        _, trace = explain(args, models["resnet50"], "layer4", images,
                           os.path.join(work, "profile", tag), args.device,
                           prec, ["--batch", str(8 * args.steps)],
                           env={"RSICAM_PROFILE": path})
        with open(os.path.join(args.out, "trace-profile-%s.txt" % tag), "w") as f:
            f.write(trace)
        forwards = re.findall(r"stream: \d+ points in (\d+) forwards", trace)
        if not os.path.exists(path) or not forwards:
            why = re.findall(r"RSICAM_PROFILE .*", trace)
            log("%s: no profile (%s)" % (tag, why[-1] if why else "no stream"))
            continue
        try:
            summary = trace_summary.summarize(trace_summary.load(path))
        except (OSError, ValueError, KeyError) as e:  # a format not foreseen
            log("%s: profile not summarised: %s" % (tag, e))
            continue
        rows.append({"case": tag, "forwards": int(forwards[-1]),
                     "summary": summary})
    return rows


def markdown(res):
    lines = ["device: %s; torch %s; %d steps" % (res["device_name"], res["torch"],
                                                 res["steps"]), ""]
    if res.get("parity"):
        lines += ["| model | layer | maps | min corr device/cpu | min corr bf16/fp32 "
                  "| bf16/fp32 by map | pass | folded/frozen head corr "
                  "| largest gap shift device/cpu | folded/frozen |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in res["parity"]:
            kinds = ", ".join("%s %.5f" % kv for kv in
                              sorted(r["min_corr_bf16_vs_fp32_by_map"].items()))
            lines.append("| %s | %s | %d | %.6f | %.6f | %s | %s | %.6f | %.1e "
                         "| %.1e |" % (
                r["model"], r["layer"], r["maps"], r["min_corr_device_vs_cpu"],
                r["min_corr_bf16_vs_fp32"], kinds, "yes" if r["pass"] else "NO",
                r["min_corr_folded_vs_frozen"], r["max_gap_shift_device_vs_cpu"],
                r["max_gap_shift_folded_vs_frozen"]))
        lines.append("")
    if res.get("timing"):
        lines += ["Per image (ms): rsicam at the pace of a stream of images once "
                  "started (its trace), all outputs written; the floor is one "
                  "no-grad forward of the same points, divided by the images "
                  "it holds.", "",
                  "| model | images per forward | (b) rsicam fp32 | (c) floor fp32 "
                  "| (b)/(c) | rsicam bf16 | floor bf16 | bf16 ratio "
                  "| floor bf16 channels-last | maps/s fp32 |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in res["timing"]:
            for k in IMAGES_PER_FORWARD:
                def g(key):
                    return r[key % k]
                lines.append(
                    "| %s %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f "
                    "| %.0f |" % (
                        r["model"], r["layer"], k, 1e3 * g("rsicam_fp32_x%d_s"),
                        1e3 * g("floor_fp32_x%d_s"), g("rsicam_over_floor_fp32_x%d"),
                        1e3 * g("rsicam_bf16_x%d_s"), 1e3 * g("floor_bf16_x%d_s"),
                        g("rsicam_over_floor_bf16_x%d"),
                        1e3 * g("floor_bf16-cl_x%d_s"), 1 / g("rsicam_fp32_x%d_s")))
        lines += ["", "Per image (ms) from the median forward after the first "
                  "(its points over the time since the last forward ended: a "
                  "one-time cost, such as a graph optimised anew, drops out):",
                  "", "| model | precision | %s |" % " | ".join(
                      "%d per forward" % k for k in IMAGES_PER_FORWARD),
                  "| --- | --- |%s" % (" --- |" * len(IMAGES_PER_FORWARD))]
        for r in res["timing"]:
            for prec in ("fp32", "bf16"):
                lines.append("| %s %s | %s | %s |" % (
                    r["model"], r["layer"], prec, " | ".join(
                        "%.2f" % (1e3 * r["rsicam_median_%s_x%d_s" % (prec, k)])
                        for k in IMAGES_PER_FORWARD)))
        lines += ["", "| model | (a) published loop | best rsicam fp32 | (a)/(b) "
                  "| files' wait per image, 8 per forward |",
                  "| --- | --- | --- | --- | --- |"]
        for r in res["timing"]:
            best = r["published_s"] / r["published_over_rsicam"]
            lines.append("| %s %s | %.1f ms | %.2f ms | %.0fx | %.2f ms |" % (
                r["model"], r["layer"], 1e3 * r["published_s"], 1e3 * best,
                r["published_over_rsicam"], r["files_wait_fp32_x8_ms"]))
        k = VARIANT_PER_FORWARD
        lines += ["", "rsicam fp32 at %d images per forward, per image (ms), "
                  "and its ratio to the default (frozen head, TorchScript's "
                  "default executor on a GPU):" % k, "",
                  "| model | default | %s |" % " | ".join(n for n, _ in VARIANTS),
                  "| --- | --- |%s" % (" --- |" * len(VARIANTS))]
        for r in res["timing"]:
            base = r["rsicam_fp32_x%d_s" % k]
            lines.append("| %s %s | %.2f | %s |" % (
                r["model"], r["layer"], 1e3 * base, " | ".join(
                    "%.2f (%.2f)" % (1e3 * r["variants_s"][n],
                                     r["variants_s"][n] / base)
                    for n, _ in VARIANTS)))
    for r in res.get("profile") or []:
        lines += ["", "Profile of %s, per forward after the first (%d):" % (
            r["case"], r["forwards"]), "",
            trace_summary.markdown(r["summary"], r["forwards"])]
    return "\n".join(lines)


def save(args, res):
    """Writes OUT/gpu_check.json and .md; returns the markdown."""
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(res, f, indent=2)
    report = markdown(res)
    with open(os.path.join(args.out, "gpu_check.md"), "w") as f:
        f.write(report + "\n")
    return report


def main(argv):
    args = parse_args(argv)
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "work")
    os.makedirs(work, exist_ok=True)
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu (%d threads)" % torch.get_num_threads()
    res = {"device": args.device, "device_name": name, "torch": torch.__version__,
           "steps": args.steps}
    models, image = prepare(work)
    ok = True
    # the report is written after each part, so that a later part's
    # failure does not lose the earlier parts' scarce GPU minutes
    if not args.skip_parity:
        res["parity"], ok = parity(args, models, image, work)
        save(args, res)
    if not args.skip_timing:
        res["timing"] = timing(args, models, image, work)
        save(args, res)
    if not args.skip_profile:
        res["profile"] = profile(args, models, image, work)
    print(save(args, res))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
