"""A rough token count of a text, shared by the item loader's size limit and the Gemini backend."""

from __future__ import annotations

import math

#: Rule-of-thumb bytes of UTF-8 per token used by :func:`estimate_tokens`.
BYTES_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """A rough token count: ASCII bytes / :data:`BYTES_PER_TOKEN` plus one token per
    non-ASCII character (CJK text is about one token per character), at least the word count."""
    non_ascii = sum(1 for char in text if char >= "\x80")
    return max(len(text.split()), math.ceil((len(text) - non_ascii) / BYTES_PER_TOKEN) + non_ascii)
