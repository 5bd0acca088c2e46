"""A plugin that crashes inside an entry point, called from Python: the
one line naming it comes first, and Python's own fatal-error handler
(faulthandler) still runs after it, since rsicam's handler hands the
signal on to the handler that was there before (issue #21)."""
import os
import subprocess
import sys
import textwrap
import unittest

from python_api_env import needs_rsicam

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.environ.get("RSICAM_TEST_PLUGIN_DIR", "")

SCRIPT = textwrap.dedent("""
    import faulthandler, sys
    sys.path.insert(0, %r)
    from python_api_env import CNN, rsicam, sample
    faulthandler.enable()
    rsicam.explain(CNN, sample(2), steps=4, baseline="segv_make")
""") % HERE


@needs_rsicam
class PluginCrash(unittest.TestCase):
    def test_crash_names_plugin_and_reaches_faulthandler(self):
        crash = os.path.join(PLUGINS, "crash_make")
        self.assertTrue(os.path.isdir(crash), crash)
        env = dict(os.environ)
        env["RSICAM_PLUGIN_PATH"] = crash + ":" + env.get(
            "RSICAM_PLUGIN_PATH", "")
        p = subprocess.run([sys.executable, "-c", SCRIPT], env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, -11, p.stderr)
        so = os.path.join(crash, "segv_make", "segv_make.so")
        line = ("rsicam: fatal signal 11 (SIGSEGV) in plugin 'segv_make' "
                f"({so})\n")
        self.assertIn(line, p.stderr)
        self.assertIn("Fatal Python error: Segmentation fault", p.stderr)
        self.assertLess(p.stderr.index(line),
                        p.stderr.index("Fatal Python error"))


if __name__ == "__main__":
    unittest.main()
