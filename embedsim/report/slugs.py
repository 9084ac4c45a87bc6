"""Collision-free file names and HTML ids for arbitrary strings (test ids, model ids, matrix names).

A string of safe characters (``0-9 A-Z a-z . _ - [ ] @``) up to :data:`MAX_CLEAN` long, with
no ``__`` and no ``_`` at either end, is its own slug. Any other string becomes its
sanitised start plus ``~`` and a SHA-256 digest of the whole string. A clean slug never
holds ``~``, so two different strings never share a slug, and :func:`slug_key` joins
slugs with ``__`` (which no slug holds), so different tuples never share a key.
"""

from __future__ import annotations

import hashlib
import re

#: The longest string kept as it is; three joined slugs stay under 255 bytes.
MAX_CLEAN = 80
_UNSAFE = re.compile(r"[^0-9A-Za-z.\-\[\]@]+")
_CLEAN = re.compile(r"[0-9A-Za-z.\-\[\]@]+(?:_[0-9A-Za-z.\-\[\]@]+)*")


def slug(text: str) -> str:
    """``text`` itself when clean, else ``<sanitised start>~<digest>`` (see the module docstring)."""
    if len(text) <= MAX_CLEAN and _CLEAN.fullmatch(text) and text not in (".", ".."):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{_UNSAFE.sub('_', text).strip('_')[:60]}~{digest}"


def slug_key(*parts: str) -> str:
    """The slugs of ``parts`` joined by ``__``: different tuples give different keys."""
    return "__".join(slug(part) for part in parts)
