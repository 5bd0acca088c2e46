"""The rsicam command's process settings, for a Python process that wants
them (core/cli/main.c applies them to the command's own)."""
from . import _rsicam


def use_command_settings():
    """Gives this process the settings the rsicam command gives its own:
    CPU tensors of 1 MiB and more in huge pages, kept for reuse once freed,
    and TorchScript's executor chosen per device as rsicam places a model
    (on a CPU no graph optimisation: rsicam optimises the part before the
    layers itself; on a GPU libtorch's default).

    They are the whole process's, which is why importing rsicam does not
    apply them: every torch tensor of 1 MiB or more made afterwards, the
    caller's too, comes from rsicam's allocator, which keeps freed blocks
    (up to the peak of what was live at once) rather than return them to
    the system; and TorchScript graphs that start running afterwards run
    under the executor chosen for the device of the model placed last.
    Neither can be undone. RSICAM_SMALL_PAGES=1 keeps libtorch's
    allocator. Under rsicam's, a model file of 16 MiB or more loads into
    memory that a second thread faults in meanwhile (RSICAM_PREFAULT_MB
    caps it; 0 turns it off). Returns what is in force: {"huge_pages":
    bool, "executor": "auto"}.
    """
    return _rsicam.use_command_settings()
