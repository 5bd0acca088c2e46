"""Several images in one forward: --batch larger than an image's points.

With fixed steps the path points of the queued images form one stream cut
into forwards of --batch points. On the shipped classifier and eight
committed samples:
  - the maps and records do not depend on how the stream is cut: one image
    per forward (batch = m: the image's own row, which chooses its classes,
    and its first m points; the last point, the image itself, takes no row
    of its own), forwards that split images (batch m + 1, 4) and forwards
    that hold five images (batch 64) give the same maps, also under
    --precision bf16, where each path's first point and the image's own
    row (its last point) run in float32 wherever the cut puts them;
  - the trace shows forwards holding several images, and fewer forwards;
  - Grad-CAM alone puts all eight images in one forward;
  - `--batch auto` on the CPU measures the first image at 1, 2, 4, ...
    16 points per forward, each size's pace and one-time cost, runs the
    batch that costs the points queued least, and caches the measurement
    (RSICAM_CACHE_DIR): the next run reads the cache and chooses for its
    own points; a file there that is not rsicam's is left as it is; a
    measurement taken while other work held the CPU is used but not
    cached; a given --batch measures nothing;
  - an image that cannot be read fails alone: the images around it in the
    same forwards give the same maps as without it.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

import numpy as np

ROOT = os.environ.get("RSICAM_SOURCE_DIR", ".")
RSICAM = os.environ["RSICAM_BIN"]
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "batching")
MODEL = os.path.join(ROOT, "examples", "models", "fmnist_cnn.pt")
IMAGES = sorted(glob.glob(os.path.join(ROOT, "examples", "samples", "*.png")))[:8]
STEPS = 10
# (points, images' own rows, images, rows in float32) per forward
TRACE = re.compile(r"trace: forward: (\d+) points and (\d+) image row\(s\) "
                   r"of (\d+) image\(s\), (\d+) in float32")


def explain(name, batch, *extra, images=IMAGES, ok=True, env=None,
            threads=2, cpus=None):
    out = os.path.join(TMP, name)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [RSICAM, "explain", "--model", MODEL, "--out", out, "--quiet",
           "--threads", str(threads), "--steps", str(STEPS),
           "--score", "softmax,logit", "--variant", "relu,guided,plain"]
    if batch is not None:  # else rsicam's default
        cmd += ["--batch", str(batch)]
    cmd += list(extra)
    for im in images:
        cmd += ["--image", im]
    env = dict(os.environ, RSICAM_TRACE="1", **(env or {}))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, preexec_fn=pinned_to(cpus))
    assert (proc.returncode == 0) == ok, proc.stderr
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    forwards = [tuple(map(int, f)) for f in TRACE.findall(proc.stderr)]
    return out, recs, forwards, proc.stderr


def pinned_to(cpus):
    """A preexec_fn that keeps the child on cpus (None: where it may run)."""
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def cams(out, recs):
    return {r["cam"]: np.load(os.path.join(out, r["cam"]))
            for r in recs if r["status"] == "ok"}


def choice(pace, once, points):
    """--batch auto's rule, restated: rows r cost the one-time costs of
    every size up to r plus points at r's pace; the fewest rows within 1%
    of the least cost win."""
    rows = sorted(map(int, pace))
    cost = {r: sum(float(once[str(s)]) for s in rows if s <= r) +
            points * float(pace[str(r)]) for r in rows}
    least = min(cost.values())
    return next(r for r in rows if cost[r] <= least * 1.01)


class Batching(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        cls.runs = {b: explain("b%d" % b, b, "--method", "rsi,gradcam")
                    for b in (STEPS, STEPS + 1, 4, 64, 4 * STEPS)}

    def assert_same_maps(self, ref, other):
        (out_a, recs_a), (out_b, recs_b) = ref, other
        a, b = cams(out_a, recs_a), cams(out_b, recs_b)
        self.assertEqual(sorted(a), sorted(b))
        for name in a:
            scale = max(float(np.abs(a[name]).max()), 1e-12)
            np.testing.assert_allclose(b[name], a[name], rtol=0,
                                       atol=1e-5 * scale, err_msg=name)
        key = lambda r: r["cam"]
        for ra, rb in zip(sorted(recs_a, key=key), sorted(recs_b, key=key)):
            self.assertEqual(ra["class"], rb["class"])
            self.assertEqual(ra["points"], rb["points"])
            self.assertEqual(ra["steps"], rb["steps"])
            if ra.get("ig_sum") is not None:
                self.assertAlmostEqual(ra["ig_sum"], rb["ig_sum"],
                                       delta=1e-5 * max(1.0, abs(ra["ig_sum"])))

    def test_maps_do_not_depend_on_the_cut(self):
        ref = self.runs[STEPS][:2]
        self.assertEqual(len(ref[1]), 8 * 2 * 4)  # 2 scores x (3 rsi + gradcam)
        for b in (STEPS + 1, 4, 64, 4 * STEPS):
            self.assert_same_maps(ref, self.runs[b][:2])

    def test_bf16_maps_do_not_depend_on_the_cut(self):
        runs = {b: explain("bf16-b%d" % b, b, "--method", "rsi",
                           "--precision", "bf16")
                for b in (STEPS + 1, 4, 64)}
        for b in (4, 64):
            self.assert_same_maps(runs[STEPS + 1][:2], runs[b][:2])
        for b, (_, _, forwards, _) in runs.items():
            # each image's baseline and own row, wherever the cut falls
            self.assertEqual(sum(f for _, _, _, f in forwards), 2 * 8, b)
            # the image's row stands for its last point, as in float32
            self.assertEqual(sum(p for p, _, _, _ in forwards), 8 * STEPS)
            self.assertEqual(sum(r for _, r, _, _ in forwards), 8)
        self.assertTrue(all(f == 0 for _, _, _, f in self.runs[4][2]))
        # the classes and their probability come from the image's row, in
        # float32: the probability is the softmax score at the image
        recs = [r for r in runs[4][1] if r["score"] == "softmax"]
        self.assertEqual(len(recs), 8 * 3)
        for r in recs:
            self.assertAlmostEqual(r["probability"], r["score_image"],
                                   delta=1e-6, msg=r["cam"])

    def test_forwards_hold_several_images(self):
        one = self.runs[STEPS][2]
        many = self.runs[64][2]
        # one image per forward at batch m: its own row and its first m
        # points; its last point, the image, is that row (had it run, the
        # 8 images' 88 points would take 9 forwards of 10)
        self.assertEqual(len(one), 8)
        self.assertTrue(all(p == STEPS and r == 1 and i == 1
                            for p, r, i, _ in one), one)
        # 88 points in forwards of at most 64: 2 forwards, up to 6 images
        self.assertEqual(sum(p for p, _, _, _ in many), 8 * STEPS)
        self.assertEqual(sum(r for _, r, _, _ in many), 8)
        self.assertEqual(len(many), 2, many)
        self.assertTrue(all(p <= 64 for p, _, _, _ in many))
        self.assertGreaterEqual(max(i for _, _, i, _ in many), 5)
        # batch 4 m (a GPU's auto) holds four whole images a forward
        four = self.runs[4 * STEPS][2]
        self.assertEqual(four, [(4 * STEPS, 4, 4, 0)] * 2, four)
        # batch 4 splits images across forwards
        split = self.runs[4][2]
        self.assertEqual(sum(p for p, _, _, _ in split), 8 * STEPS)
        self.assertTrue(any(i == 2 for _, _, i, _ in split), split)

    def test_stream_ends_without_a_short_forward(self):
        # one image, 10 steps, 3 points a forward: its row and 3 points,
        # then 7 rows left (the 11th point is the image, its row). Once
        # they are known the forwards take one point more where a short
        # last forward would otherwise run: 4 and 3, not 3, 3 and 1
        one = IMAGES[:1]
        out, recs, fw, _ = explain("end3", 3, images=one)
        self.assertEqual([(p, r) for p, r, _, _ in fw], [(3, 1), (4, 0), (3, 0)])
        ref = explain("end-whole", STEPS, images=one)
        self.assertEqual([(p, r) for p, r, _, _ in ref[2]], [(STEPS, 1)])
        self.assertEqual(len(recs), 2 * 3)
        self.assert_same_maps(ref[:2], (out, recs))
        # rows that divide evenly keep the batch: 10 = 5 + 5
        fw = explain("end5", 5, images=one)[2]
        self.assertEqual([(p, r) for p, r, _, _ in fw], [(5, 1), (5, 0)])
        # an experiment gives each image forwards of its own: the same cut
        # for each of them
        out = os.path.join(TMP, "end-run")
        shutil.rmtree(out, ignore_errors=True)
        cfg = os.path.join(TMP, "end-run.yaml")
        with open(cfg, "w") as f:
            f.write("model: %s\nimages: [%s]\nsteps: [%d]\nbatch: 3\n"
                    "output: %s\n" % (MODEL, ", ".join(IMAGES[:2]), STEPS, out))
        proc = subprocess.run([RSICAM, "run", cfg, "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ, RSICAM_TRACE="1"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        fw = [tuple(map(int, f)) for f in TRACE.findall(proc.stderr)]
        self.assertEqual([(p, r) for p, r, _, _ in fw],
                         [(3, 1), (4, 0), (3, 0)] * 2, proc.stderr)

    def auto(self, name, cache, *extra, env=None, **how):
        _, recs, fw, err = explain(name, None, "--method", "rsi", *extra,
                                   images=IMAGES[:2],
                                   env={"RSICAM_CACHE_DIR": cache,
                                        **(env or {})}, **how)
        self.assertTrue(all(r["status"] == "ok" for r in recs), recs)
        # every point ran (the last as the image's own row), in forwards
        # of at most the batch chosen (one more at the stream's end)
        self.assertEqual(sum(p for p, _, _, _ in fw), 2 * STEPS)
        self.assertEqual(sum(r for _, r, _, _ in fw), 2)
        said = [l for l in err.splitlines() if "batch auto" in l]
        self.assertEqual(len(said), 1, err)
        return fw, said[0]

    def test_auto_batch_measured_once_then_cached(self):
        cache = os.path.join(TMP, "cache")
        shutil.rmtree(cache, ignore_errors=True)
        points = 2 * (STEPS + 1)  # two images' paths
        for extra in ((), ("--batch", "auto")):
            shutil.rmtree(cache, ignore_errors=True)
            fw, said = self.auto("auto", cache, *extra)
            measured = re.search(r"batch auto: (\d+) for (\d+) points; ms "
                                 r"per point: ((?:\d+: [\d.]+ ?)+); once ms: "
                                 r"((?:\d+: [\d.]+ ?)+); waited for a CPU "
                                 r"[\d.]+%; cached in (\S+)", said)
            self.assertTrue(measured, said)
            batch, file = int(measured.group(1)), measured.group(5)
            self.assertEqual(int(measured.group(2)), points)
            # 1, 2, 4, ... until one costs half again the best in the
            # first round (its own time, which the trace does not show:
            # the paces shown are compared within three rounds; the rule
            # is test_auto_batch.c's knee_stops_the_measuring)
            pace = dict(re.findall(r"(\d+): ([\d.]+)", measured.group(3)))
            once = dict(re.findall(r"(\d+): ([\d.]+)", measured.group(4)))
            tried = [1, 2, 4, 8, 16][:len(pace)]
            self.assertEqual(list(map(int, pace)), tried)
            self.assertEqual(list(map(int, once)), tried)
            self.assertGreaterEqual(len(tried), 2)
            self.assertTrue(all(float(p) > 0 for p in pace.values()), said)
            self.assertTrue(all(p <= batch + 1 for p, _, _, _ in fw), fw)
            self.assertEqual(os.listdir(cache), [os.path.basename(file)])
            with open(file) as f:
                stored = json.load(f)
            self.assertIn(os.path.realpath(MODEL), stored["key"])
            self.assertEqual(sorted(map(int, stored["ms_per_point"])), tried)
            self.assertEqual(sorted(map(int, stored["once_ms"])), tried)
            # (the trace rounds; the file holds what was measured)
            self.assertEqual(batch, choice(stored["ms_per_point"],
                                           stored["once_ms"], points))
        # the next run reads it, and measures nothing
        fw, said = self.auto("auto-again", cache)
        self.assertEqual(said, f"rsicam: trace: batch auto: {batch} for "
                               f"{points} points, from {file}")
        # what the file says is what is chosen from: 8 rows at the best
        # pace, 8 + 8 + 4 points
        # (every size, whichever the measurement reached)
        sizes = ("1", "2", "4", "8", "16")
        stored["ms_per_point"] = {k: 1.0 if k == "8" else 2.0 for k in sizes}
        stored["once_ms"] = {k: 0.0 for k in sizes}
        with open(file, "w") as f:
            json.dump(stored, f)
        fw, said = self.auto("auto-eight", cache)
        self.assertEqual([p for p, _, _, _ in fw], [8, 8, 4])
        self.assertTrue(said.endswith(f"8 for {points} points, from {file}"),
                        said)
        # and its one-time costs count: 8 rows' first run, dear enough,
        # outweighs their pace over these points (2 points at 1 row)
        stored["once_ms"]["8"] = 1000.0 * points
        with open(file, "w") as f:
            json.dump(stored, f)
        fw, said = self.auto("auto-dear-eight", cache)
        self.assertTrue(all(p <= 2 for p, _, _, _ in fw), fw)
        self.assertTrue(said.endswith(f"1 for {points} points, from {file}"),
                        said)
        # a file of the earlier format, which stored a choice, is measured
        # again
        with open(file, "w") as f:
            json.dump({"key": stored["key"].replace(
                "calibration 6|", "calibration 5|"), "batch": 8,
                "ms_per_point": stored["ms_per_point"]}, f)
        _, said = self.auto("auto-format-5", cache)
        self.assertIn("once ms", said)

    def test_auto_batch_keyed_by_settings(self):
        # settings that changed which batch is fastest get a measurement of
        # their own: OpenBLAS's spinning workers (core/torch/openblas.cpp)
        # cost batch 1 most, its kernels its Linear layers, small pages
        # (core/torch/huge_pages.cpp) larger batches; the graph executor is
        # named as it is in force (the command's own choice, unless
        # RSICAM_EXECUTOR makes another)
        for name, env, said_in_key, default_in_key in (
                ("blas", {"OPENBLAS_THREAD_TIMEOUT": "28"},
                 "|openblas timeout 28|", "|openblas timeout default|"),
                ("kernels", {"OPENBLAS_CORETYPE": "Prescott"},
                 "|openblas kernels Prescott|",
                 "|openblas kernels default|"),
                ("pages", {"RSICAM_SMALL_PAGES": "1"}, "|huge pages 0|",
                 "|huge pages 1|"),
                ("executor", {"RSICAM_EXECUTOR": "legacy"},
                 "|executor legacy|", "|executor simple|")):
            with self.subTest(name):
                self.keyed_by(name, env, said_in_key, default_in_key)

    def keyed_by(self, name, env, said_in_key, default_in_key):
        cache = os.path.join(TMP, "cache-" + name)
        shutil.rmtree(cache, ignore_errors=True)
        _, said = self.auto("auto-" + name, cache)
        _, other = self.auto("auto-%s-set" % name, cache, env=env)
        self.assertIn("ms per point", other)  # measured, not read
        files = [s.rsplit("cached in ", 1)[1] for s in (said, other)]
        self.assertNotEqual(files[0], files[1])
        self.assertEqual(sorted(os.listdir(cache)),
                         sorted(map(os.path.basename, files)))
        with open(files[1]) as f:
            self.assertIn(said_in_key, json.load(f)["key"])
        with open(files[0]) as f:
            key = json.load(f)["key"]
            self.assertNotIn(said_in_key, key)
            self.assertIn(default_in_key, key)
        batch = re.search(r"batch auto: (\d+ for \d+ points);", said).group(1)
        _, again = self.auto("auto-%s-again" % name, cache)
        self.assertEqual(again, f"rsicam: trace: batch auto: {batch}, from "
                                f"{files[0]}")

    def test_auto_batch_leaves_files_not_its_own(self):
        cache = os.path.join(TMP, "cache-foreign")
        shutil.rmtree(cache, ignore_errors=True)
        _, said = self.auto("auto-foreign", cache)
        file = said.rsplit("cached in ", 1)[1]
        with open(file, "w") as f:
            f.write("a user's notes\n")
        _, said = self.auto("auto-foreign", cache)
        self.assertIn("ms per point", said)  # measured again,
        with open(file) as f:  # and the file stays as it was
            self.assertEqual(f.read(), "a user's notes\n")
        # a cache that cannot be written costs only the measuring
        blocked = os.path.join(TMP, "cache-blocked")
        with open(blocked, "w") as f:
            f.write("a file where the cache folder would be\n")
        _, said = self.auto("auto-blocked", blocked)
        self.assertIn("ms per point", said)

    def test_auto_batch_not_cached_when_cpu_busy(self):
        # rsicam on one CPU with two busy loops: its thread waits for the CPU
        # about two thirds of the measuring (10% is the default limit)
        cache = os.path.join(TMP, "cache-busy")
        shutil.rmtree(cache, ignore_errors=True)
        cpu = {min(os.sched_getaffinity(0))}
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                  preexec_fn=pinned_to(cpu))
                 for _ in range(2)]
        try:
            time.sleep(0.2)  # both running
            busy = dict(threads=1, cpus=cpu)
            _, recs, fw, err = explain("auto-busy", None, "--method", "rsi",
                                       images=IMAGES[:2], **busy,
                                       env={"RSICAM_CACHE_DIR": cache,
                                            "RSICAM_CALIBRATION_MAX_WAIT": ""})
            self.assertTrue(all(r["status"] == "ok" for r in recs), recs)
            # said, used for this command, and not cached
            said = re.search(r"^rsicam: batch auto: other work held the CPU "
                             r"(\d+)% of the measuring; (\d+) points per "
                             r"forward for this command, not cached "
                             r"\(RSICAM_CALIBRATION_MAX_WAIT=1 caches it\)$", err,
                             re.M)
            self.assertTrue(said, err)
            self.assertGreater(int(said.group(1)), 10)
            batch = int(said.group(2))
            self.assertTrue(all(p <= batch + 1 for p, _, _, _ in fw), fw)
            self.assertRegex(err, r"trace: batch auto: %d for \d+ points; ms "
                                  r"per point: .*; once ms: .*; waited for a "
                                  r"CPU [\d.]+%%; not cached\n" % batch)
            self.assertFalse(os.path.exists(cache) and os.listdir(cache))
            # a limit the wait is within caches it
            _, said = self.auto("auto-busy-allowed", cache, **busy,
                                env={"RSICAM_CALIBRATION_MAX_WAIT": "1"})
            self.assertIn("; cached in ", said)
            self.assertEqual(len(os.listdir(cache)), 1)
        finally:
            for p in loops:
                p.kill()
                p.wait()

    def test_calibration_max_wait_checked_first(self):
        out = os.path.join(TMP, "bad-max-wait")
        shutil.rmtree(out, ignore_errors=True)
        for bad in ("1.5", "-0.1", "ten", "nan", "0.1x"):
            proc = subprocess.run(
                [RSICAM, "explain", "--model", MODEL, "--out", out, "--quiet",
                 "--steps", "4", IMAGES[0]],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, RSICAM_CALIBRATION_MAX_WAIT=bad))
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertEqual(proc.stderr,
                             "rsicam: RSICAM_CALIBRATION_MAX_WAIT: expected a "
                             "share of the time in [0, 1], got '%s'\n" % bad)
            self.assertFalse(os.path.exists(os.path.join(out,
                                                         "results.jsonl")))
        # a given batch measures nothing, and reads no limit
        _, recs, _, _ = explain("bad-max-wait-given", 4, "--method", "rsi",
                                env={"RSICAM_CALIBRATION_MAX_WAIT": "ten"})
        self.assertTrue(all(r["status"] == "ok" for r in recs), recs)

    def test_given_batch_measures_nothing(self):
        cache = os.path.join(TMP, "cache-given")
        shutil.rmtree(cache, ignore_errors=True)
        _, _, fw, err = explain("given", 8, "--method", "rsi",
                                images=IMAGES[:2],
                                env={"RSICAM_CACHE_DIR": cache})
        # the second image starts in the slot its first image's last point
        # left: that point is the image's own row, run in the first forward
        self.assertEqual([(p, r) for p, r, _, _ in fw], [(8, 1), (8, 1), (4, 0)])
        self.assertNotIn("batch auto", err)
        self.assertFalse(os.path.exists(cache))

    def test_gradcam_alone_in_one_forward(self):
        out, recs, fw, _ = explain("gradcam-8", 8, "--method", "gradcam")
        self.assertEqual(fw, [(8, 0, 8, 0)])
        out1, recs1, fw1, _ = explain("gradcam-1", 1, "--method", "gradcam")
        self.assertEqual(len(fw1), 8)
        self.assert_same_maps((out1, recs1), (out, recs))

    def test_profile_from_the_first_forward_on(self):
        # Kineto writes the trace where libtorch has it; without it (Debian)
        # rsicam writes the recorded operators in the same format.
        path = os.path.join(TMP, "profile.json")
        if os.path.exists(path):
            os.remove(path)
        out, recs, fw, err = explain("profiled", 4, "--method", "rsi,gradcam",
                                     env={"RSICAM_PROFILE": path})
        self.assert_same_maps(self.runs[4][:2], (out, recs))
        self.assertNotIn("RSICAM_PROFILE", err)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
        ops = [e for e in events if e.get("cat") == "cpu_op"]
        self.assertTrue(all(e["ph"] == "X" and e["dur"] >= 0 for e in ops))
        # every forward after the first: its tail (the network after the
        # frozen head), and the backward through it
        tails = [e for e in ops if e["name"] == "rsicam_tail"]
        self.assertEqual(len(tails), len(fw) - 1)
        self.assertTrue(any(e["name"].startswith("autograd::engine::")
                            for e in ops))
        self.assertEqual(glob.glob(path + ".tmp.*"), [])
        # from the end of the first forward: the later ones' operators
        summary = subprocess.run(
            [sys.executable, os.path.join(ROOT, "bench", "trace_summary.py"),
             path, "--forwards", str(len(fw) - 1)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(summary.returncode, 0, summary.stderr)
        self.assertIn("aten::", summary.stdout)

    def test_profile_never_replaces_a_file(self):
        path = os.path.join(TMP, "someone-elses.json")
        with open(path, "w") as f:
            f.write("not rsicam's\n")
        out, recs, _, err = explain("profile-refused", 4, "--method",
                                    "rsi,gradcam", env={"RSICAM_PROFILE": path})
        self.assert_same_maps(self.runs[4][:2], (out, recs))
        said = [l for l in err.splitlines() if "RSICAM_PROFILE" in l]
        self.assertEqual(len(said), 1, err)
        self.assertIn("'%s'" % path, said[0])
        self.assertIn("exists", said[0])
        with open(path) as f:
            self.assertEqual(f.read(), "not rsicam's\n")
        self.assertEqual(glob.glob(path + ".tmp.*"), [])

    def test_unreadable_image_fails_alone(self):
        bad = os.path.join(TMP, "not-an-image.png")
        with open(bad, "w") as f:
            f.write("no pixels here\n")
        images = IMAGES[:3] + [bad] + IMAGES[3:]
        out, recs, _, _ = explain("with-bad", 64, "--method", "rsi,gradcam",
                               images=images, ok=False)
        failed = [r for r in recs if r["status"] != "ok"]
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0]["image"], bad)
        self.assertIn(bad, failed[0]["error"])
        self.assert_same_maps(self.runs[64][:2],
                              (out, [r for r in recs if r["status"] == "ok"]))


if __name__ == "__main__":
    unittest.main()
