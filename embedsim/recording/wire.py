"""The vendor facts the recording layer reads: each backend's :class:`~embedsim.backends.base.Wire`.

A model's calls are filtered, digested and matched by its backend's ``Wire``. Where no model is
named (pytest-recording's ``@pytest.mark.vcr`` tests with :func:`~embedsim.recording.vcr_config`)
or its backend declares none, every installed backend's facts apply together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from embedsim.backends.base import Wire, without_userinfo

#: HTTP's own credential headers, filtered for every backend (a gateway's ``user:password@``
#: in a base URL travels as ``Authorization: Basic``).
HTTP_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization")

__all__ = ["HTTP_CREDENTIAL_HEADERS", "call_of", "credential_headers", "credential_params", "is_official",
           "media_paths", "shown_hosts", "wires_of", "without_userinfo"]


def wires_of(model_id: str | None = None) -> tuple[Wire, ...]:
    """``(wire,)`` of ``model_id``'s backend; every installed remote backend's wire when
    ``model_id`` is ``None`` or its backend declares none."""
    from embedsim.backends import backends, find

    spec = find(model_id) if model_id is not None else None
    if spec is not None and spec.wire is not None:
        return (spec.wire,)
    return tuple(s.wire for s in backends() if s.wire is not None)


def _union(values: Iterable[Iterable[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for group in values for v in group))


def credential_headers(wires: Sequence[Wire]) -> tuple[str, ...]:
    """The headers never written to a cassette nor compared (lower case)."""
    return _union([HTTP_CREDENTIAL_HEADERS, *([h.lower() for h in w.credential_headers] for w in wires)])


def credential_params(wires: Sequence[Wire]) -> tuple[str, ...]:
    """The query parameters never written to a cassette nor compared."""
    return _union(w.credential_params for w in wires)


def media_paths(wires: Sequence[Wire]) -> tuple[str, ...]:
    """Where base64 media sits in request bodies (:attr:`Wire.media_paths`)."""
    return _union(w.media_paths for w in wires)


def call_of(path: str, wires: Sequence[Wire]) -> tuple[str, str | None]:
    """``(what identifies the call, API version or None)`` of a URL ``path``: the ``call`` (and
    ``version``) group of the first wire whose ``call_path`` is found in it, else the whole path."""
    for wire in wires:
        if wire.call_path and (found := re.search(wire.call_path, path)):
            groups = found.groupdict()
            return groups.get("call") or found.group(0), groups.get("version")
    return path, None


def is_official(host: str, patterns: Sequence[str]) -> bool:
    """True when ``host`` fully matches one of the official host ``patterns`` (any case)."""
    return any(re.fullmatch(pattern, host, flags=re.IGNORECASE) for pattern in patterns)


def shown_hosts(patterns: Sequence[str]) -> str:
    """Official host patterns as a reader sees them (``api.example.com`` for ``api\\.example\\.com``)."""
    return " or ".join(pattern.replace("\\.", ".") for pattern in patterns) or "no official host"
