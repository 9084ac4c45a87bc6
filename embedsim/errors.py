"""The project's exceptions: every message names the file or item and says what to do."""


class EmbedsimError(Exception):
    """Base class of every error embedsim raises on purpose."""


class InputError(EmbedsimError):
    """A file, text, manifest or option that embedsim cannot use as given."""


class BackendError(EmbedsimError):
    """An embedding backend failed or answered something unusable."""


class RecordingError(EmbedsimError):
    """A test's recording cannot be used or made (missing, mismatched or unreadable cassette).
    A test that fails or skips with one never reached its snapshots: they are kept."""
