"""The Gemini Batch API mode: many items embedded by one job at the batch price (opt-in).

Read from google-genai 3.6.1 (``google/genai/batches.py``: ``Batches.create_embeddings``,
``_create_embeddings``, ``get``; ``google/genai/types.py``: ``EmbeddingsBatchJobSource``,
``EmbedContentBatch``, ``BatchJob``, ``InlinedEmbedContentResponse``; ``google/genai/_transformers.py``:
``t_recv_batch_job_destination``, ``t_job_state``). On the wire:

* create: ``POST {version}/models/{model}:asyncBatchEmbedContent`` with
  ``{"batch": {"displayName", "inputConfig": {"requests": {"requests": [{"request": {"content", ...}}]}}}}``,
  answered by the job ``{"name": "batches/...", "metadata": {"state": "BATCH_STATE_PENDING", ...}}``;
* poll: ``GET {version}/batches/{id}`` until ``metadata.state`` is final; a succeeded job carries
  its answers inline, in request order, in ``metadata.output.inlinedResponses.inlinedResponses[]``
  (each ``{"response": {"embedding": {"values"}}}`` or ``{"error"}``).

``create_embeddings`` is **experimental** in that SDK version (it warns ``ExperimentalWarning`` on
every call; embedsim asked for it, so the warning is not repeated here) and exists on the Gemini
Developer API only: a Vertex AI client is refused before any call. Only inline requests are sent
(no Files API upload), so one job carries at most the inline request limit
(:data:`~embedsim.backends.gemini.MAX_REQUEST_BYTES`); more items become several jobs.

**Interruption.** Each job's name is written to the state file (:class:`JobNames`: JSON, the
job's request digest -> its name) as soon as the service created it, before the first poll. A
rerun with the same items, model, dimension and task finds the name and polls that job instead
of creating and paying for another one; a job the service no longer knows (HTTP 404) is created
again. Names of finished jobs stay: they are what makes a replay take the same path as the
recording (the pytest plugin keeps the state file beside the cassette).

**Recording.** Create and polls are ordinary HTTP calls of the SDK, recorded by vcrpy like online
calls. Identical polls are played back in their recorded order, each once (vcrpy's default, no
``allow_playback_repeats``), so a replay makes exactly as many polls as the recording, whatever
the timing; the recording layer sets :attr:`BatchMode.poll_interval` to 0 for a replay.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from google.genai import errors as genai_errors
from google.genai import types

from embedsim.backends.attempts import counting, labels
from embedsim.backends.batch_mode import BatchMode, JobNames
from embedsim.backends.gemini import payload as gemini_requests
from embedsim.backends.gemini.calls import redact, redacting_logs
from embedsim.backends.progress import Progress
from embedsim.errors import BackendError, InputError
from embedsim.inputs.items import Item

if TYPE_CHECKING:
    from embedsim.backends.gemini.embedder import GeminiEmbedder, Received

#: What the service is called in messages.
SERVICE = "the Gemini Batch API (google-genai batches.create_embeddings, experimental)"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
#: Final states without answers: the job is forgotten, a rerun creates a new one.
ENDED = ("JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED")


def job_digest(embedder: GeminiEmbedder, items: Sequence[Item]) -> str:
    """What a job asks, as a digest: the model, dimension, task and each item (kind, MIME type,
    content digest) in order - not the endpoint or API version, which a replay does not share."""
    h = hashlib.sha256()
    for part in (embedder.sdk_model, str(embedder.dimension), str(embedder.task)):
        h.update(part.encode("utf-8") + b"\0")
    for item in items:
        h.update(f"{item.kind}\0{item.mime_type}\0{item.digest}\n".encode())
    return h.hexdigest()


def jobs_of(unique: list[Item]) -> list[list[int]]:
    """The unique items' positions, split into jobs of at most the inline request limit."""
    return gemini_requests.batches(list(range(len(unique))), unique, batch_size=max(len(unique), 1))


def check_client(embedder: GeminiEmbedder) -> None:
    """Refuse a Vertex AI client (before any call): google-genai has no embedding batch jobs there."""
    if embedder.client.vertexai:
        embedder.close()
        raise InputError(f"{embedder.model_id}: batch mode is {SERVICE}, which google-genai offers on the Gemini "
                         "Developer API only, not on Vertex AI; run without batch mode (no --embedsim-batch / --batch)")


def embed(embedder: GeminiEmbedder, mode: BatchMode, items: Sequence[Item], received: Received | None) -> np.ndarray:
    """``(len(items), dimension)`` float32 unit rows through batch jobs (one per inline request limit,
    :data:`~embedsim.backends.gemini.MAX_REQUEST_BYTES`), created or resumed, polled until done."""
    plan = embedder._plan(items, received)
    names = JobNames(mode.state)
    jobs = jobs_of(plan.unique)
    started: list[tuple[list[int], str, str]] = []
    for number, job in enumerate(jobs, 1):
        job_items = [plan.unique[i] for i in job]
        digest = job_digest(embedder, job_items)
        name = names.get(digest) or _create(embedder, names, digest, job_items, number, len(jobs))
        started.append((job, digest, name))
    with Progress(embedder.progress, len(plan.unique), f"{embedder.model_id} (batch)") as bar:
        for number, (job, digest, name) in enumerate(started, 1):
            job_items = [plan.unique[i] for i in job]
            done = _wait(embedder, mode, names, digest, name, job_items, number, len(jobs), bar)
            if done is None:  # the service forgot the job (404): ask again
                name = _create(embedder, names, digest, job_items, number, len(jobs))
                done = _wait(embedder, mode, names, digest, name, job_items, number, len(jobs), bar)
                if done is None:
                    raise BackendError(f"{embedder.model_id}: batch job {name} was created but is not found")
            embedder._store(plan, job, _vectors(embedder, done, name, job_items, number, len(jobs)))
            bar.update(len(job))
    return embedder._result(plan)


def _source(embedder: GeminiEmbedder, job_items: list[Item]) -> types.EmbeddingsBatchJobSource:
    contents = [types.Content(parts=[embedder._part(item)]) for item in job_items]  # one content per item
    return types.EmbeddingsBatchJobSource(
        inlined_requests=types.EmbedContentBatch(contents=contents, config=embedder._config))


def _create(embedder: GeminiEmbedder, names: JobNames, digest: str, job_items: list[Item], number: int,
            total: int) -> str:
    """Create the job and keep its name on disk before anything else happens."""
    job = _call(embedder, job_items, number, total, lambda: embedder.client.batches.create_embeddings(
        model=embedder.sdk_model, src=_source(embedder, job_items),
        config=types.CreateEmbeddingsBatchJobConfig(display_name=f"embedsim {embedder.model_id} {digest[:12]}")))
    if not job.name:
        raise BackendError(f"{embedder.model_id}: {SERVICE} answered the job's creation without a job name "
                           f"(job {number} of {total}: {labels(job_items)})")
    names.put(digest, job.name)
    return job.name


def _wait(embedder: GeminiEmbedder, mode: BatchMode, names: JobNames, digest: str, name: str, job_items: list[Item],
          number: int, total: int, bar: Progress) -> types.BatchJob | None:
    """Poll ``name`` until it is final: the succeeded job, or ``None`` when the service does not know it."""
    polls = 0
    while True:
        try:
            job = _call(embedder, job_items, number, total, lambda: embedder.client.batches.get(name=name),
                        not_found=True)
        except _NotFound:
            names.put(digest, None)
            return None
        polls += 1
        state = str(getattr(job.state, "value", job.state))
        bar.note(f"job {number}/{total} {name}: {state.removeprefix('JOB_STATE_').lower()}, poll {polls}")
        if state == SUCCEEDED:
            return job
        if state in ENDED:
            names.put(digest, None)
            raise BackendError(f"{embedder.model_id}: batch job {name} ended {state} after {polls} poll(s) "
                               f"(job {number} of {total} with {len(job_items)} item(s): {labels(job_items)}); "
                               "a rerun creates a new job")
        time.sleep(mode.poll_interval)


class _NotFound(Exception):
    pass


def _call(embedder: GeminiEmbedder, job_items: list[Item], number: int, total: int, call: Any,
          not_found: bool = False) -> types.BatchJob:
    """One SDK call, its failure described like an online call's (redacted, attempts counted)."""
    with counting() as sent, redacting_logs(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"batches\.create_embeddings\(\) is experimental")
        try:
            return call()
        except Exception as exc:
            if not_found and isinstance(exc, genai_errors.APIError) and exc.code == 404:
                failure: BaseException = _NotFound()
            else:
                described = embedder._failure(exc, job_items, number, total, sent[0])
                if described is None:
                    raise exc.with_traceback(None)  # noqa: B904 - not a call failure: as it is, without the SDK's frames
                failure = described
    raise failure  # outside the except block: no SDK exception, request or frame is kept with it


def _vectors(embedder: GeminiEmbedder, job: types.BatchJob, name: str, job_items: list[Item], number: int,
             total: int) -> np.ndarray:
    """The succeeded job's answers, checked like an online call's (count, errors, length, finiteness)."""
    answers = (job.dest.inlined_embed_content_responses if job.dest is not None else None) or []
    for item, answer in zip(job_items, answers):
        if answer.error is not None or answer.response is None or answer.response.embedding is None:
            error = redact(str(answer.error.message)) if answer.error is not None else "no embedding"
            raise BackendError(f"{embedder.model_id}: batch job {name} answered item {item.describe()} with an error: "
                               f"{error} (job {number} of {total})")
    embeddings = [a.response.embedding for a in answers if a.response is not None and a.response.embedding is not None]
    response = types.EmbedContentResponse(embeddings=embeddings)
    return embedder._vectors(response, job_items, number, total)
