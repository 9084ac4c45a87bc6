"""Progress reporting for long embedding runs: a tqdm bar on a TTY, a callback, or nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable

#: ``None``: a bar when stderr is a TTY; ``True``/``False``: always/never a bar;
#: a callable: called as ``callback(done, total)`` after each answered call.
ProgressOption = bool | None | Callable[[int, int], object]


class Progress:
    """Counts items as calls complete and reports them as ``progress`` asks."""

    def __init__(self, progress: ProgressOption, total: int, description: str) -> None:
        self.total, self.done = total, 0
        self._callback = progress if callable(progress) else None
        show = sys.stderr.isatty() if progress is None else progress is True
        self._bar = None
        if show and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit="item", file=sys.stderr, leave=False)

    def update(self, count: int) -> None:
        """Record ``count`` more items done (a callback may raise to stop the run)."""
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        if self._callback is not None:
            self._callback(self.done, self.total)

    def note(self, text: str) -> None:
        """Show ``text`` beside the bar (e.g. a batch job's state while it is polled)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
