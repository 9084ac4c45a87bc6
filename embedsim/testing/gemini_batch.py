"""The Gemini emulator with the Batch API's embedding endpoints - a TEST TOOL (vectors are NOT Gemini's).

:class:`GeminiBatchEmulator` is the :class:`~embedsim.testing.gemini.GeminiEmulator` plus the two
calls google-genai 3.6.1 makes for ``client.batches.create_embeddings`` and ``client.batches.get``
(read in ``google/genai/batches.py``: ``_create_embeddings``, ``get``, ``_BatchJob_from_mldev``,
``_BatchJobDestination_from_mldev``; ``google/genai/_transformers.py``: ``t_recv_batch_job_destination``):

* ``POST /{version}/models/{model}:asyncBatchEmbedContent`` with ``{"batch": {"displayName",
  "inputConfig": {"requests": {"requests": [{"request": {"content", "outputDimensionality",
  "taskType"}}]}}}}``: each request is checked and embedded like an online ``:embedContent``
  request; the answer is the job ``{"name": "batches/<id>", "metadata": {"model", "displayName",
  "state": "BATCH_STATE_PENDING", ...}}``;
* ``GET /{version}/batches/<id>``: the job, ``BATCH_STATE_PENDING`` for its first
  :attr:`GeminiBatchEmulator.pending_polls` polls, then its final state (:attr:`~GeminiBatchEmulator.final_state`,
  default ``BATCH_STATE_SUCCEEDED``) with the answers inline, in request order, under
  ``metadata.output.inlinedResponses.inlinedResponses[]`` (``{"response": {"embedding": {"values"}}}``);
  a job it does not know (or one :meth:`~GeminiBatchEmulator.forget` dropped, as an expired job) is 404.

The job's ``name`` counts up from ``batches/emulated-1`` in each emulator, so a test's recording is
the same every time. Fields the SDK does not read (``batchStats``, ``@type``) are left out rather
than guessed.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from embedsim.testing.emulator import Answer, ApiError, EmulatorRequest, float32_decimals
from embedsim.testing.gemini import GeminiEmulator

_CREATE = re.compile(r"^/(v1|v1beta)/models/([^/:]+):asyncBatchEmbedContent$")
_GET = re.compile(r"^/(v1|v1beta)/batches/([^/:]+)$")
#: A fixed clock: the job's times do not change between two recordings.
_TIME = "2026-01-01T00:00:00Z"


@dataclass
class EmulatedJob:
    """One batch job: its answers, computed when it was created, and the polls it has had."""

    name: str
    model: str
    display_name: str
    answers: list[dict[str, Any]]
    polls: int = 0


class GeminiBatchEmulator(GeminiEmulator):
    """:class:`~embedsim.testing.gemini.GeminiEmulator` with the Batch API's embedding endpoints."""

    def __init__(self, *args: Any, pending_polls: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Polls of each job answered ``BATCH_STATE_PENDING`` before its final state.
        self.pending_polls = pending_polls
        #: The final state of every job (``BATCH_STATE_FAILED``, ``..._CANCELLED``, ``..._EXPIRED`` to test those).
        self.final_state = "BATCH_STATE_SUCCEEDED"
        self.jobs: dict[str, EmulatedJob] = {}
        self._created = 0
        self._jobs_lock = threading.Lock()

    def forget(self, name: str) -> None:
        """Drop a job, as the service does with an expired one: its polls are then 404."""
        with self._jobs_lock:
            self.jobs.pop(name, None)

    @property
    def batch_calls(self) -> list[EmulatorRequest]:
        """The logged batch calls (creations and polls), in order."""
        with self._lock:
            return [r for r in self.requests if self._batch_route(r.path)[0]]

    def _batch_route(self, target: str) -> tuple[str, re.Match[str] | None]:
        path = urlsplit(target).path
        if not path.startswith(self.path_prefix + "/"):
            return "", None
        path = path[len(self.path_prefix):]
        for kind, route in (("create", _CREATE), ("get", _GET)):
            if found := route.match(path):
                return kind, found
        return "", None

    def _answer(self, request: EmulatorRequest, raw: bytes) -> Answer:
        kind, match = self._batch_route(request.path)
        if match is None:
            return super()._answer(request, raw)
        if request.method != ("POST" if kind == "create" else "GET"):
            raise ApiError(404, f"Method not found: {request.method} {urlsplit(request.path).path}")
        self.authenticate(request)
        fault = self._next_fault()  # an HTTP status fault applies to batch calls too
        if fault is not None and fault.kind[:1].isdigit():
            code = int(fault.kind)
            raise ApiError(code, str(fault.params.get("message") or self.MESSAGES.get(code, "Error.")))
        job = self._create(match.group(2), request.body) if kind == "create" else self._poll(match.group(2))
        return Answer(200, json.dumps(job).encode())

    def _create(self, model: str, body: Any) -> dict[str, Any]:
        batch = body.get("batch") if isinstance(body, dict) else None
        requests = (((batch or {}).get("inputConfig") or {}).get("requests") or {}).get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "* EmbedContentBatch.input_config.requests.requests: at least one request is "
                                "required\n")
        answers = []
        for i, entry in enumerate(requests):
            request = entry.get("request") if isinstance(entry, dict) else None
            where = f"EmbedContentBatch.input_config.requests.requests[{i}].request"
            vector = self._one(model, request, where, check_model=False)
            answers.append({"response": {"embedding": {"values": float32_decimals(vector)}}})
        with self._jobs_lock:
            self._created += 1
            name = f"batches/emulated-{self._created}"
            display_name = str(batch.get("displayName", ""))  # type: ignore[union-attr]
            job = EmulatedJob(name, f"models/{model}", display_name, answers)
            self.jobs[name] = job
        return self._job(job, "BATCH_STATE_PENDING")

    def _poll(self, job_id: str) -> dict[str, Any]:
        with self._jobs_lock:
            job = self.jobs.get(f"batches/{job_id}")
            if job is None:
                raise ApiError(404, f"Batch batches/{job_id} not found.")
            job.polls += 1
            state = "BATCH_STATE_PENDING" if job.polls <= self.pending_polls else self.final_state
        return self._job(job, state)

    @staticmethod
    def _job(job: EmulatedJob, state: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {"model": job.model, "displayName": job.display_name, "state": state,
                                    "createTime": _TIME, "updateTime": _TIME}
        final = state != "BATCH_STATE_PENDING"
        if final:
            metadata["endTime"] = _TIME
        if state == "BATCH_STATE_SUCCEEDED":
            metadata["output"] = {"inlinedResponses": {"inlinedResponses": job.answers}}
        return {"name": job.name, "metadata": metadata, "done": final}
