"""Credentials never shown: the one redaction of every remote backend's messages and logs.

:func:`redact` removes from a text every secret this process was given (:func:`protect`: keys,
tokens, at least :data:`MIN_SECRET` characters), bearer tokens, and what the backends' credential
patterns match (each backend declares its own once, :attr:`Wire.credential_patterns
<embedsim.backends.base.Wire.credential_patterns>`: a key's shape, a signed header's value).
:func:`redacting_logs` puts :class:`RedactingFilter` on the HTTP clients', vcrpy's and a backend's
SDK loggers (and their existing children) while a call runs: the first call to enter adds it, the
last to leave removes it, so embedsim leaves no filter behind on loggers it does not own.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

REDACTED = "[redacted]"
#: Shorter strings (test placeholders such as "k") are not remembered: redacting them would mangle messages.
MIN_SECRET = 8
#: A bearer token, whichever vendor's (an HTTP fact, not a vendor's).
BEARER = r"(?i:bearer)\s+(?P<secret>[A-Za-z0-9._~+/=\-]{8,})"
#: Loggers every remote call may write to (the HTTP clients and vcrpy), besides its SDK's.
HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "urllib3", "requests", "aiohttp", "vcr")

_SECRETS: set[str] = set()
#: Every credential pattern declared so far (the log filter redacts them all).
_PATTERNS: dict[str, re.Pattern[str]] = {BEARER: re.compile(BEARER)}
_LOCK = threading.Lock()
#: Logger name -> how many calls running now want the filter on it.
_ACTIVE: dict[str, int] = {}


def protect(*secrets: str | None, patterns: Iterable[str] = ()) -> None:
    """Remember ``secrets`` (those of at least :data:`MIN_SECRET` characters) and ``patterns``
    for redaction in every message and log record from now on."""
    for secret in secrets:
        if secret and len(secret.strip()) >= MIN_SECRET:
            _SECRETS.add(str(secret).strip())
    _declare(patterns)


def _declare(patterns: Iterable[str]) -> list[re.Pattern[str]]:
    compiled = []
    for pattern in patterns:
        if pattern not in _PATTERNS:
            _PATTERNS[pattern] = re.compile(pattern)
        compiled.append(_PATTERNS[pattern])
    return compiled


def _blank(match: re.Match[str]) -> str:
    """The match with its ``secret`` group (else all of it) replaced by :data:`REDACTED`."""
    if "secret" not in match.re.groupindex or match.group("secret") is None:
        return REDACTED
    whole, start = match.group(0), match.start()
    return whole[: match.start("secret") - start] + REDACTED + whole[match.end("secret") - start:]


def redact(text: str, patterns: Iterable[str] = ()) -> str:
    """``text`` without any secret :func:`protect` was given, bearer tokens, ``patterns`` and
    every credential pattern declared so far."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    _declare(patterns)
    for pattern in list(_PATTERNS.values()):
        text = pattern.sub(_blank, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message carries a credential (see :func:`redact`), and drops
    an exception attached to it that does."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and redact(str(error)) != str(error):
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = RedactingFilter()


@contextmanager
def redacting_logs(loggers: Iterable[str] = (), patterns: Iterable[str] = ()) -> Iterator[None]:
    """While inside (one call, sync or async; calls may overlap), :data:`HTTP_LOGGERS`,
    ``loggers`` and their existing children redact credentials (and ``patterns``)."""
    _declare(patterns)
    prefixes = (*HTTP_LOGGERS, *loggers)
    with _LOCK:
        existing = [name for name in list(logging.root.manager.loggerDict) if name.startswith(prefixes)]
        names = sorted({*prefixes, *existing})
        for name in names:
            if not _ACTIVE.get(name):
                logging.getLogger(name).addFilter(_FILTER)
            _ACTIVE[name] = _ACTIVE.get(name, 0) + 1
    try:
        yield
    finally:
        with _LOCK:
            for name in names:
                _ACTIVE[name] -= 1
                if not _ACTIVE[name]:
                    del _ACTIVE[name]
                    logging.getLogger(name).removeFilter(_FILTER)
