"""rsicam in Python: RSI-Grad-CAM heatmaps from the same engine as the
``rsicam`` command (librsicam, through the ``_rsicam`` C extension).

    import rsicam
    maps = rsicam.explain("examples/models/fmnist_cnn.pt",
                          ["examples/samples/0003.png"])
    maps[0]            # shows the overlay in a notebook
    maps[0].heatmap    # float32 numpy array in [0, 1]

rsicam.Explainer keeps the model open over many calls (its later calls
cost what a later image does).

Errors are rsicam.Error subclasses (UsageError, InputError, ModelError,
PluginError, OutputError) carrying the command's message and, as .code,
its exit code.
"""
from ._rsicam import (Error, InputError, ModelError, OutputError,
                      PluginError, UsageError)
from ._explain import Explainer, explain
from ._explanation import Explanation
from ._model import layers
from ._run import plugins, run
from ._settings import use_command_settings

__all__ = ["explain", "Explainer", "Explanation", "layers", "plugins", "run", "Error",
           "UsageError", "InputError", "ModelError", "PluginError",
           "OutputError", "use_command_settings"]
