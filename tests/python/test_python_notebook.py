#!/usr/bin/env python3
"""examples/notebooks/quickstart.ipynb runs from start to end under
nbconvert --execute with the built rsicam package, shows its heatmaps
inline, and is committed with its outputs stripped.

Run: tools/rsicam-python tests/python/test_python_notebook.py
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

from python_api_env import PY_DIR, ROOT, needs_rsicam, tmpdir

NOTEBOOK = os.path.join(ROOT, "examples", "notebooks", "quickstart.ipynb")


def nbconvert_missing():
    p = subprocess.run([sys.executable, "-c", "import nbconvert, ipykernel"],
                       capture_output=True)
    return p.returncode != 0


class CommittedTest(unittest.TestCase):
    def test_outputs_stripped(self):
        with open(NOTEBOOK) as f:
            nb = json.load(f)
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                self.assertEqual(cell["outputs"], [])
                self.assertIsNone(cell["execution_count"])


@needs_rsicam
@unittest.skipIf(nbconvert_missing(), "python3-nbconvert or "
                 "python3-ipykernel missing (tools/setup installs them)")
class ExecuteTest(unittest.TestCase):
    def test_executes_and_shows_heatmaps(self):
        out = tmpdir("notebook")
        shutil.rmtree(out)
        os.makedirs(out)
        # a kernel on this interpreter, whatever python3 is first on PATH
        kernels = os.path.join(out, "jupyter", "kernels", "rsicam-test")
        os.makedirs(kernels)
        with open(os.path.join(kernels, "kernel.json"), "w") as f:
            json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher",
                                "-f", "{connection_file}"],
                       "display_name": "rsicam test", "language": "python"},
                      f)
        env = dict(os.environ, JUPYTER_PATH=os.path.join(out, "jupyter"),
                   PYTHONPATH=os.pathsep.join(
                       [PY_DIR, os.environ.get("PYTHONPATH", "")]),
                   MPLBACKEND="module://matplotlib_inline.backend_inline")
        p = subprocess.run(
            [sys.executable, "-m", "nbconvert", "--to", "notebook",
             "--execute", "--ExecutePreprocessor.kernel_name=rsicam-test",
             "--ExecutePreprocessor.timeout=300", "--output-dir", out,
             "--output", "executed.ipynb", NOTEBOOK],
            capture_output=True, text=True, env=env,
            cwd=os.path.dirname(NOTEBOOK))
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        with open(os.path.join(out, "executed.ipynb")) as f:
            nb = json.load(f)
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c["outputs"]]
        self.assertFalse([o for o in outputs if o["output_type"] == "error"])
        pngs = [o for o in outputs if "image/png" in o.get("data", {})]
        # the Explanation itself and the matplotlib grid
        self.assertGreaterEqual(len(pngs), 2)
        text = "".join("".join(o.get("text", "")) for o in outputs)
        self.assertIn("hits", text)
        print(text[-600:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
