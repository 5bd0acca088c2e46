"""Bad ONNX files: one clear model error each (exit 4, one line naming the
file and what is wrong), never a crash or a partial output; the good file
they derive from explains."""
import os
import shutil
import subprocess
import unittest

ROOT = os.environ.get("RSICAM_SOURCE_DIR", ".")
RSICAM = os.environ["RSICAM_BIN"]
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "onnx_errors")
PYTHON = os.path.join(ROOT, "tools", "rsicam-python")

CASES = {  # file: words the message must hold
    "truncated.onnx": ["truncated"],
    "not_onnx.onnx": ["not an ONNX model"],
    "unsupported.onnx": ["unsupported operator 'Einsum'",
                         "node 'model/mix/Einsum'", "opset 13",
                         "supported: "],
    "dynamic.onnx": ["dynamic height or width", "'height'", "input_size"],
    "two_inputs.onnx": ["2 inputs", "'x'", "'y'"],
}


class BadFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)
        subprocess.run([PYTHON, os.path.join(ROOT, "tests", "fixtures",
                                             "make_onnx_bad.py"), TMP],
                       check=True)

    def explain(self, name):
        out = os.path.join(TMP, "out_" + name)
        proc = subprocess.run(
            [RSICAM, "explain", "--model", os.path.join(TMP, name),
             "--image", os.path.join(TMP, "image.png"), "--out", out,
             "--steps", "4", "--quiet", "--layer", "conv"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return proc, out

    def test_good_file_explains(self):
        proc, out = self.explain("good.onnx")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "results.jsonl")))

    def test_each_bad_file(self):
        for name, words in CASES.items():
            with self.subTest(file=name):
                proc, out = self.explain(name)
                self.assertEqual(proc.returncode, 4, proc.stderr)
                lines = proc.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertIn(name, lines[0])
                for w in words:
                    self.assertIn(w, lines[0])
                self.assertFalse(os.path.exists(
                    os.path.join(out, "results.jsonl")))


if __name__ == "__main__":
    unittest.main()
