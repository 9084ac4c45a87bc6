"""What happens around one Gemini call: the attempts it took, redirects refused, and the
:class:`~embedsim.errors.BackendError` a failure becomes - which never carries the API key.

* **No key in errors.** A failure is described in a new exception raised outside the SDK's
  ``except`` block: no ``__cause__`` / ``__context__`` keeps the SDK's exception, its
  ``HttpRequest`` headers or its frames' locals. Messages are redacted (known keys and
  anything shaped like a Google API key).
* **No key in logs.** :mod:`embedsim.backends.redaction`'s filter on google-genai's, vcrpy's and
  the HTTP clients' loggers rewrites a record that carries a key (the SDK logs each retry with the
  service's error message, vcrpy each recorded response) - while a call runs (:func:`redacting_logs`):
  embedsim leaves no filter behind on loggers it does not own.
* **Attempts counted.** Every HTTP request the SDK's httpx client sends is counted per call
  (an httpx ``event_hooks`` request hook through ``HttpOptions.client_args``), so messages
  say how many attempts were actually made. With aiohttp (async, no hook) the count
  follows from the SDK's retry rule: a retried error that ends the call used every attempt.
* **Timeouts are deadlines.** The sync client's transport ends each attempt within the timeout,
  however slowly the server sends its answer (:mod:`embedsim.backends.deadline`); aiohttp's
  total timeout does the same for the async client.
* **No redirects.** The SDK's clients are built with ``follow_redirects=False`` (httpx) /
  ``allow_redirects=False`` (aiohttp); a 3xx answer is refused with the target it named.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from google.genai import errors as genai_errors

from embedsim.backends import redaction
from embedsim.backends.attempts import acount_request, count_request, labels
from embedsim.backends.deadline import deadline_transport
from embedsim.backends.gemini import WIRE, GeminiAPIError
from embedsim.errors import BackendError
from embedsim.inputs.items import Item

#: HTTP statuses the SDK retries (its defaults, made explicit so messages can say so).
RETRIED_STATUS_CODES = (408, 429, 500, 502, 503, 504)
#: The SDK's loggers (google-genai's logs each retry with the service's message) and google-auth's
#: (where the credentials file is, on Vertex AI); the HTTP clients' and vcrpy's are always redacted.
LOGGERS = ("google_genai", "google.auth", "google.oauth2")


def redact(text: str) -> str:
    """``text`` without any key this process has used and anything shaped like a Google credential."""
    return redaction.redact(text, WIRE.credential_patterns)


def redacting_logs() -> AbstractContextManager[None]:
    """The SDK's, the HTTP clients' and vcrpy's loggers redact keys while inside (one call)."""
    return redaction.redacting_logs(LOGGERS, WIRE.credential_patterns)


# -- the clients ---------------------------------------------------------------------------------


def client_args(timeout: float | None) -> dict[str, Any]:
    """``HttpOptions.client_args``: no redirects, every request counted, each attempt ending within
    ``timeout`` seconds (:mod:`embedsim.backends.deadline`)."""
    return {"follow_redirects": False, "event_hooks": {"request": [count_request]},
            "transport": deadline_transport("httpx2", timeout)}


def async_client_args() -> dict[str, Any]:
    """``HttpOptions.async_client_args``: the same for httpx, ``allow_redirects=False`` for aiohttp
    (the SDK passes each client only the arguments it accepts)."""
    return {"follow_redirects": False, "allow_redirects": False, "event_hooks": {"request": [acount_request]}}


# -- failures -----------------------------------------------------------------------------------


def _retried_by_sdk(exc: BaseException) -> bool:
    if isinstance(exc, genai_errors.APIError):
        return exc.code in RETRIED_STATUS_CODES
    return _is_connection_error(exc) or (_is_timeout(exc) and not isinstance(exc, TimeoutError))


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


def _is_connection_error(exc: BaseException) -> bool:
    name = type(exc).__name__
    return isinstance(exc, OSError) or any(s in name for s in ("Connect", "Transport", "Disconnected", "Protocol"))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


def describe_failure(
    exc: BaseException, batch: list[Item], *, model_id: str, number: int, total: int, attempts: int,
    requests_sent: int, timeout: float | None, endpoint: str, api_version: str, is_async: bool = False,
) -> BackendError | None:
    """A redacted :class:`BackendError` for a failed call: what happened, how many attempts
    were made, and which items the call carried; ``None`` for an exception that is not a call
    failure (e.g. a cassette miss raised by vcrpy's stubs) and carries no key: the caller
    re-raises it as it is, without the SDK's frames."""
    where = f"call {number} of {total} with {len(batch)} item(s): {labels(batch)}"
    if isinstance(exc, BackendError):
        return exc
    made = requests_sent or (attempts if _retried_by_sdk(exc) else None)
    tried = f"{made} attempt{'s' if made != 1 else ''}" if made else ""
    if isinstance(exc, genai_errors.APIError):
        message = redact(str(exc.message or exc.details or "")).strip()
        code = exc.code or 0
        if 300 <= code < 400:
            location = redact(str(getattr(getattr(exc, "response", None), "headers", {}).get("location", "?")))
            same = _origin(location) == _origin(endpoint)
            text = (f"{model_id}: the server answered HTTP {code} redirecting to {location} "
                    f"({'same' if same else 'another'} origin); refused: embedsim never follows redirects, so the "
                    f"API key is never sent anywhere but {endpoint} ({where})")
        elif code == 404 or exc.status == "NOT_FOUND":
            other = "v1" if api_version != "v1" else "v1beta"
            text = (f"{model_id}: HTTP 404 NOT_FOUND: {message} - asked for model {model_id!r} on API version "
                    f"{api_version!r} ({endpoint}). The model may not be served on {api_version}: try API version "
                    f"{other!r} (--embedsim-api-version {other}, CLI --api-version {other}) and list the models "
                    f"your key can use (client.models.list(), GET {endpoint}/models) ({where})")
        else:
            gave_up = f"; gave up after {tried}" if made and made > 1 else ""
            text = f"{model_id}: HTTP {exc.code} {exc.status or ''}: {message} ({where}{gave_up})"
        return GeminiAPIError(redact(text), exc.code, exc.status, message, [i.id for i in batch])
    if isinstance(exc, (genai_errors.UnknownApiResponseError, json.JSONDecodeError)):
        what = "the answer is not valid JSON (malformed or truncated body)"
    elif _is_timeout(exc):
        what = "no answer in time" if timeout is None else f"no answer within the {timeout} s timeout"
        if is_async and isinstance(exc, TimeoutError) and not requests_sent:
            what += " (google-genai does not retry aiohttp timeouts; embed() does)"
        elif tried:
            what += f", {tried}"
    elif _is_connection_error(exc):
        what = f"cannot connect to {endpoint} ({type(exc).__name__}: {exc}){', ' + tried if tried else ''}"
    elif redact(str(exc)) == str(exc):
        return None
    else:
        what = f"unexpected {type(exc).__name__}: {exc}"
    return BackendError(redact(f"{model_id}: {what} ({where})"))
