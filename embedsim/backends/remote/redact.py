"""API keys never shown: every message of a remote vendor backend goes through :func:`redact`,
and the SDKs' and HTTP clients' loggers get :class:`RedactingFilter` (:func:`protect`).

Redacted: every key this process has been given (at least :data:`MIN_SECRET` characters),
``Bearer`` tokens, and strings shaped like the vendors' keys (OpenAI ``sk-...``, Voyage
``pa-...``, Jina ``jina_...``, Google ``AIza...``)."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
#: Shorter strings (test placeholders such as "k") are not remembered: redacting them would mangle messages.
MIN_SECRET = 8
PATTERNS = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|\bsk-[A-Za-z0-9_\-]{16,}|\bpa-[A-Za-z0-9_\-]{16,}|\bjina_[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{20,}")
#: Loggers that may carry a service message (and so an echoed key).
LOGGERS = ("voyage", "voyageai", "cohere", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3",
           "requests", "aiohttp", "vcr", "embedsim")
_SECRETS: set[str] = set()


def redact(text: str) -> str:
    """``text`` without any key this process was given and anything shaped like a key."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return PATTERNS.sub(lambda m: "Bearer " + REDACTED if m.group(0).lower().startswith("bearer") else REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message (or exception) carries a key."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None and redact(str(record.exc_info[1])) != str(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = RedactingFilter()


def protect(secret: str | None) -> None:
    """Remember ``secret`` for redaction and put the filter on the SDKs' loggers (and their children)."""
    if secret and len(secret) >= MIN_SECRET:
        _SECRETS.add(str(secret))
    existing = [name for name in list(logging.root.manager.loggerDict) if name.startswith(LOGGERS)]
    for name in {*LOGGERS, *existing}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
