"""Citations: find ``[n]`` in an answer, keep those that point to a retrieved source, drop the others.

The model cites sources by their number in the prompt. A number outside the sources (the model invented it,
or a document asked for it) is removed from the text; ``[1, 7]`` with only source 1 becomes ``[1]``.
Forms like ``[Source 2]`` are written back as ``[2]``. An answer without any valid citation is not grounded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from souverain.knowledge.chunking import SECTION_SEPARATOR
from souverain.knowledge.types import SearchHit

GROUP = re.compile(r"(\s*)\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*\]", re.I)
_NUMBER = re.compile(r"\d{1,3}")


@dataclass(frozen=True)
class Citation:
    """A valid citation: its number in the answer and the source it points to."""

    n: int
    document_id: str
    chunk_id: str
    title: str
    url: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "document_id": self.document_id,
            "chunk_id": self.chunk_id,
            "title": self.title,
            "url": self.url,
        }


@dataclass(frozen=True)
class CheckedAnswer:
    """The answer without invalid citations, its valid citations (first-use order), how many were dropped."""

    text: str
    citations: tuple[Citation, ...]
    dropped: int

    @property
    def cited(self) -> bool:
        return bool(self.citations)


def numbers(text: str) -> list[int]:
    """Every number cited in ``text``, in order, repeats included."""
    return [int(n) for match in GROUP.finditer(text) for n in _NUMBER.findall(match.group(2))]


def rewrite(text: str, count: int) -> tuple[str, int]:
    """``text`` citing only sources 1..``count``, in canonical form; and how many citations were dropped."""
    dropped = 0

    def keep(match: re.Match[str]) -> str:
        nonlocal dropped
        cited = [int(n) for n in _NUMBER.findall(match.group(2))]
        valid = list(dict.fromkeys(n for n in cited if 1 <= n <= count))
        dropped += len(cited) - len([n for n in cited if 1 <= n <= count])
        if not valid:
            return ""
        space = match.group(1) if match.group(1) else ""
        return space + "".join(f"[{n}]" for n in valid)

    return GROUP.sub(keep, text), dropped


def strip_citations(text: str) -> str:
    """``text`` without any citation (an earlier answer's numbers point to earlier sources)."""
    return GROUP.sub("", text)


def substance(text: str, sources: Sequence[SearchHit]) -> int:
    """How many letters and digits the answer says beyond its citations and the sources' titles and
    headings: a small model in a loop may write nothing but "[1] <title>" lines, which cite without
    answering, while "86 € [1]" is a terse but real answer."""
    rest = strip_citations(text).casefold()
    for hit in sources:
        # the section is a heading path ("À l'étranger > Coût"): its headings are named one by one too
        names = sorted({hit.title, hit.section, *hit.section.split(SECTION_SEPARATOR)}, key=len, reverse=True)
        for name in names:
            if name.strip():
                rest = rest.replace(name.strip().casefold(), " ")
    return sum(1 for c in rest if c.isalnum())


def repeats(text: str) -> int:
    """How often the answer's most repeated sentence (three words or more) occurs: a looping model says the
    same sentence again and again."""
    pieces = (" ".join(p.casefold().split()) for p in re.split(r"[.!?\n]+", strip_citations(text)))
    counts = Counter(p for p in pieces if len(p.split()) >= 3)
    return max(counts.values(), default=0)


def check(text: str, sources: Sequence[SearchHit]) -> CheckedAnswer:
    """Validate the citations of ``text`` against the sources it was given (numbered from 1)."""
    cleaned, dropped = rewrite(text, len(sources))
    cleaned = cleaned.strip()
    return CheckedAnswer(cleaned, tuple(cite(cleaned, sources)), dropped)


def cite(text: str, sources: Sequence[SearchHit]) -> list[Citation]:
    """The citations of an already checked ``text``, each source once, in order of first use."""
    cited = dict.fromkeys(n for n in numbers(text) if 1 <= n <= len(sources))
    return [source_citation(n, sources[n - 1]) for n in cited]


def source_citation(n: int, hit: SearchHit) -> Citation:
    """Source number ``n`` as a citation."""
    return Citation(n, hit.document_id, hit.chunk_id, hit.title, hit.url)
