"""A file being parsed: where it is, the stable document id it gets, and how its text is read."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from souverain.knowledge.types import Block, SourceDocument

# UTF-32 first: its little-endian mark begins with UTF-16's
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class FileSource:
    """One file under an ingested root; ``relative`` (POSIX, from the root) is its document id."""

    path: Path
    relative: str
    language: str = "fr"

    def document(self, title: str, blocks: list[Block], language: str | None = None) -> SourceDocument:
        """The parsed document, its id and ``path`` metadata taken from the relative path."""
        return SourceDocument(
            id=self.relative,
            title=title,
            blocks=blocks,
            language=language or self.language,
            metadata={"path": self.relative},
        )

    def fallback_title(self) -> str:
        """A title from the file name, for files that carry none."""
        name = self.path.name.split(".")[0] or self.path.name
        return " ".join(name.replace("_", " ").replace("-", " ").split()) or self.relative

    def read_text(self) -> str:
        """The file as text: UTF-16 or UTF-32 when it opens with their byte-order mark, UTF-8 (with or without
        BOM), else Windows-1252 as office exports often are."""
        data = self.path.read_bytes()
        for bom, encoding in _WIDE_BOMS:
            if data.startswith(bom):
                return data.decode(encoding, errors="replace")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
