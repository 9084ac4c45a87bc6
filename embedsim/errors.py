"""The project's exceptions: every message names the file or item and says what to do."""

from typing import Any, TypeVar

E = TypeVar("E", bound=BaseException)


def in_chain(exc: BaseException | None, kind: type[E]) -> E | None:
    """The first ``kind`` among ``exc`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class EmbedsimError(Exception):
    """Base class of every error embedsim raises on purpose."""


class InputError(EmbedsimError):
    """A file, text, manifest or option that embedsim cannot use as given."""


class ExpectationFailed(AssertionError):
    """An expectation over a similarity matrix did not hold; ``check`` (an
    :class:`embedsim.expect.Check`) has the details. (Here, not in ``embedsim.expect``, so
    the plugin's ``embedsim_xfail`` default ``raises=`` needs no numpy import.)"""

    def __init__(self, check: Any) -> None:
        super().__init__(check.message)
        self.check = check


class BackendError(EmbedsimError):
    """An embedding backend failed or answered something unusable."""


class NotApplicable(InputError):
    """A model cannot embed an item of this kind (an image-only model given text): an
    experiment that needs it does not apply to the model - a skip, not a failure."""


class RecordingError(EmbedsimError):
    """A test's recording cannot be used or made (missing, mismatched or unreadable cassette).
    A test that fails or skips with one never reached its snapshots: they are kept."""
