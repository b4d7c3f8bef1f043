"""Fuzzy matching for the go-anywhere finder and the list filters (pure, no Textual).

A query matches a text when its characters appear in it in order ("dmhl" matches
"demo/hello"). Candidates are filtered by one compiled regular expression (C speed, so
10,000 names take a few milliseconds), then ranked: a plain substring first, then a
match at the start of a word, then the shortest span.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

T = TypeVar("T")


@lru_cache(maxsize=256)
def pattern(query: str) -> re.Pattern[str]:
    """`abc` → `a[^b]*?b[^c]*?c`: the earliest, tightest in-order match."""
    chars = [c for c in query.lower() if not c.isspace()]
    parts = [re.escape(chars[0])] if chars else []
    for char in chars[1:]:
        parts.append(f"[^{re.escape(char)}]*?{re.escape(char)}")
    return re.compile("".join(parts))


def score(query: str, text: str) -> float | None:
    """Higher is better; None when `query` does not match `text` (lower-cased)."""
    needle = "".join(query.lower().split())
    if not needle:
        return 0.0
    at = text.find(needle)
    if at >= 0:
        start_of_word = at == 0 or not text[at - 1].isalnum()
        return 1000.0 - at + (200.0 if start_of_word else 0.0) - len(text) * 0.01
    found = pattern(needle).search(text)
    if found is None:
        return None
    start, span = found.start(), found.end() - found.start()
    start_of_word = start == 0 or not text[start - 1].isalnum()
    return 500.0 - span * 5.0 - start + (50.0 if start_of_word else 0.0) - len(text) * 0.01


def matches(query: str, text: str) -> bool:
    """`query`'s characters occur in `text` in order (both compared lower-cased)."""
    needle = "".join(query.lower().split())
    return not needle or pattern(needle).search(text.lower()) is not None


@dataclass(frozen=True)
class Ranked(Generic[T]):
    score: float
    item: T


def rank(query: str, items: Sequence[T], texts: Sequence[str], limit: int = 50) -> list[T]:
    """The best `limit` items for `query`; `texts` are their lower-cased search texts."""
    needle = "".join(query.lower().split())
    if not needle:
        return list(items[:limit])
    search = pattern(needle).search
    found: list[Ranked[T]] = []
    for item, text in zip(items, texts, strict=True):
        if search(text) is not None:
            value = score(needle, text)
            if value is not None:
                found.append(Ranked(value, item))
    found.sort(key=lambda r: -r.score)
    return [r.item for r in found[:limit]]


def lowered(texts: Iterable[str]) -> list[str]:
    return [t.lower() for t in texts]


class FuzzyIndex:
    """Many texts searched at once: one string of all of them, one line each, so the
    regular expressions scan them in C and Python only sees the lines that match
    (10,000 names: milliseconds even for a one-letter query)."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = [t.lower().replace("\n", " ") for t in texts]
        self.blob = "\n".join(self.texts) + "\n"
        starts, offset = [], 0
        for text in self.texts:
            starts.append(offset)
            offset += len(text) + 1
        self.starts = starts

    def find(self, query: str, limit: int = 50) -> list[int]:
        """Indexes of the best `limit` texts for `query`, best first."""
        needle = "".join(query.lower().split())
        if not needle:
            return list(range(min(limit, len(self.texts))))
        blob, starts, texts = self.blob, self.starts, self.texts
        scored: dict[int, float] = {}
        for found in re.finditer(re.escape(needle), blob):
            line = bisect_right(starts, found.start()) - 1
            if line in scored:
                continue
            at = found.start() - starts[line]
            text = texts[line]
            word = at == 0 or not text[at - 1].isalnum()
            scored[line] = 1000.0 - at + (200.0 if word else 0.0) - len(text) * 0.01
        chars = [re.escape(c) for c in needle]
        loose = chars[0] + "".join(f"[^{c}\n]*?{c}" for c in chars[1:])
        for found in re.finditer(loose, blob):
            line = bisect_right(starts, found.start()) - 1
            if line in scored:
                continue
            at = found.start() - starts[line]
            text = texts[line]
            word = at == 0 or not text[at - 1].isalnum()
            span = found.end() - found.start()
            scored[line] = 500.0 - span * 5.0 - at + (50.0 if word else 0.0) - len(text) * 0.01
        best = heapq.nlargest(limit, scored.items(), key=lambda item: (item[1], -item[0]))
        return [line for line, _ in best]
