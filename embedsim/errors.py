"""The project's exceptions: every message names the file or item and says what to do."""


class EmbedsimError(Exception):
    """Base class of every error embedsim raises on purpose."""


class InputError(EmbedsimError):
    """A file, text, manifest or option that embedsim cannot use as given."""


class BackendError(EmbedsimError):
    """An embedding backend failed or answered something unusable."""
