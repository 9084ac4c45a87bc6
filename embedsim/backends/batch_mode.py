"""Batch mode, vendor-neutral: what a backend with a batch service (``BackendSpec.batch``) takes as
``batch=`` (:class:`BatchMode`), and where its jobs' names are kept (:class:`JobNames`), so an
interrupted run resumes its jobs instead of paying for them twice. The pytest plugin
(``--embedsim-batch``) keeps the file beside the test's cassette; the CLI (``--batch``) in a cache folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from embedsim.errors import BackendError, InputError
from embedsim.files import atomic_write

if TYPE_CHECKING:
    from embedsim.backends.base import BackendSpec

#: Default seconds between two polls of a running job.
DEFAULT_POLL_INTERVAL = 30.0
#: The file name of the CLI's job names, in ``--cache DIR`` or the user's cache folder.
STATE_FILE = "batch-jobs.json"


@dataclass
class BatchMode:
    """How an embedder sends its items as batch jobs: ``state`` is the JSON file that keeps the
    jobs' names (created with its folder when needed), ``poll_interval`` the seconds between polls
    (a replay sets it to 0: its polls are recorded answers)."""

    state: Path
    poll_interval: float = DEFAULT_POLL_INTERVAL

    def __post_init__(self) -> None:
        self.state = Path(self.state)
        if not self.poll_interval >= 0:
            raise InputError(f"batch poll interval must be at least 0 seconds, got {self.poll_interval!r}")


def check_batch(spec: BackendSpec, model_id: str, option: str) -> None:
    """Refuse batch mode (asked for by ``option``) for a model whose backend has no batch service."""
    if not spec.batch:
        offered = "" if spec.local else " (its calls would be online calls at the online price)"
        raise InputError(f"{model_id}: {option} asks for batch jobs, but the {spec.name} backend sends none{offered}; "
                         f"run {model_id} without {option}")


def user_state_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/embedsim/batch-jobs.json`` (default ``~/.cache/embedsim/...``)."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "embedsim" / STATE_FILE


class JobNames:
    """The batch jobs' names on disk: ``{request digest: job name}`` in one JSON file, rewritten
    whole (:func:`~embedsim.files.atomic_write`) on every change. Finished jobs stay: a rerun reads
    their answers again instead of paying for them (and a replay takes the recording's path)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot read the batch job state file {self.path} ({type(exc).__name__}); restore it "
                               "from version control or delete it (a rerun then creates new batch jobs)") from None
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(jobs, dict):
            raise BackendError(f"the batch job state file {self.path} has no 'jobs' table; restore it from version "
                               "control or delete it (a rerun then creates new batch jobs)")
        return {str(k): str(v) for k, v in jobs.items()}

    def get(self, digest: str) -> str | None:
        return self._read().get(digest)

    def put(self, digest: str, name: str | None) -> None:
        """Keep ``name`` for ``digest`` (``None``: forget it)."""
        jobs = self._read()
        if name is None:
            jobs.pop(digest, None)
        else:
            jobs[digest] = name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"about": "embedsim batch jobs by request digest (embedsim.backends.batch_mode)",
                           "jobs": dict(sorted(jobs.items()))}, indent=1)
        atomic_write(self.path, (text + "\n").encode("utf-8"))
