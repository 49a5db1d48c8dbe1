"""A file being parsed: where it is, the stable document id it gets, and how its text is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from souverain.knowledge.types import Block, SourceDocument


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
        """The file as text: UTF-8 (with or without BOM), else Windows-1252 as office exports often are."""
        data = self.path.read_bytes()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
