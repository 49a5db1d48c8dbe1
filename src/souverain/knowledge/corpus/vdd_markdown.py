"""Markdown-like text from a service-public.fr page body (DILA "vos droits" XML as an xml-js element tree).

Sections (situations, chapters, cases) become ``#`` headings nested by depth, lists ``- item`` lines,
tables ``| a | b |`` rows under a header separator, callouts ("À noter", "Attention") paragraphs that start
with their label, and the forms, online services and offices a section points to one line each. What is
display logic (personalisation conditions, column widths, images) is dropped. Text that Markdown would read
as markup is escaped, so that a CommonMark parser gives back the words of the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Element = dict[str, Any]

# Elements whose title becomes a heading one level below the enclosing section.
_SECTIONS = frozenset({"Situation", "Chapitre", "SousChapitre", "Cas", "Problematique", "Branche", "Choix"})
# Boxed remarks: their title is a label, not a section of the page.
_CALLOUTS = {"ANoter": "À noter", "ASavoir": "À savoir", "Attention": "Attention", "Rappel": "Rappel"}
# Display logic, layout and pictures: nothing a reader would read as text.
_DROPPED = frozenset(
    {
        "Condition",
        "SiSelectionne",
        "Colonne",
        "TitreAlternatif",
        "Image",
        "Illustration",
        "Source",
        "ServiceEnLigneAnnexe",
        "NoticeLiee",
        "Resume",
        "PivotLocal",
        "RessourceWeb",
        "IntituleSiSelectionne",
    }
)
_INLINE_ESCAPES = re.compile(r"([\\*_`])")
_LINE_START = re.compile(r"^([#>+=-]|\d+[.)](?=\s|$))")


def element_children(element: Element, name: str | None = None) -> list[Element]:
    """The child elements (not text nodes) of ``element``, only those called ``name`` when given."""
    children = element.get("children") or []
    return [c for c in children if c.get("type") == "element" and (name is None or c.get("name") == name)]


def first_child(element: Element, name: str) -> Element | None:
    """The first child element called ``name``."""
    found = element_children(element, name)
    return found[0] if found else None


def inline_text(element: Element | None) -> str:
    """All the text under ``element`` on one line, whitespace collapsed (no-break spaces included)."""
    if element is None:
        return ""
    parts: list[str] = []
    _collect_text(element, parts)
    return " ".join("".join(parts).split())


def _collect_text(element: Element, parts: list[str]) -> None:
    if element.get("type") in {"text", "cdata"}:
        parts.append(str(element.get("text") or element.get("cdata") or ""))
        return
    for child in element.get("children") or []:
        if child.get("name") not in _DROPPED:  # the element asked for is read even if dropped in a body
            _collect_text(child, parts)


def escape_inline(text: str) -> str:
    """Backslash-escape the characters Markdown reads as emphasis or code."""
    return _INLINE_ESCAPES.sub(r"\\\1", text)


def escape_line(text: str) -> str:
    """Escape inline markup, and a start that Markdown would read as a heading, quote or list."""
    return _LINE_START.sub(lambda match: _escape_marker(match.group(1)), escape_inline(text))


def _escape_marker(marker: str) -> str:
    return marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker


def render_body(elements: Iterable[Element], depth: int = 1) -> list[str]:
    """The Markdown blocks of a sequence of body elements, headings starting at level ``depth``."""
    blocks: list[str] = []
    for element in elements:
        blocks.extend(_render(element, depth))
    return [block for block in blocks if block.strip()]


def _render(element: Element, depth: int) -> list[str]:
    if element.get("type") in {"text", "cdata"}:
        text = inline_text(element)
        return [escape_line(text)] if text else []
    name = element.get("name")
    if element.get("type") != "element" or name in _DROPPED:
        return []
    if name in {"Paragraphe", "Titre"}:
        text = inline_text(element)
        return [escape_line(text)] if text else []
    if name == "Liste":
        return ["\n".join(list_lines(element))]
    if name == "Tableau":
        return render_table(element)
    if name in _SECTIONS:
        return _render_section(element, depth)
    if name in _CALLOUTS or name == "Avertissement":
        return _render_callout(element, depth)
    if name == "ServiceEnLigne":
        return [service_line(element), *render_body(element_children(element, "Introduction"), depth)]
    if name == "OuSAdresser":
        return [office_line(element), *render_body(element_children(element, "Texte"), depth)]
    return render_body(element.get("children") or [], depth)


def _render_section(element: Element, depth: int) -> list[str]:
    title = inline_text(first_child(element, "Titre"))
    rest = [child for child in element.get("children") or [] if child.get("name") != "Titre"]
    if not title:
        return render_body(rest, depth)
    body = render_body(rest, depth + 1)
    return [f"{'#' * min(depth, 6)} {escape_inline(title)}", *body]


def _render_callout(element: Element, depth: int) -> list[str]:
    title = inline_text(first_child(element, "Titre"))
    rest = [child for child in element.get("children") or [] if child.get("name") != "Titre"]
    body = render_body(rest, depth)
    if element.get("name") == "Avertissement":
        label = f"Avertissement : {escape_inline(title)}" if title else "Avertissement"
        return [label, *body]
    label = escape_inline(title or _CALLOUTS[str(element.get("name"))])
    if body and not body[0].startswith(("#", "-", "|")) and not _is_ordered_item(body[0]):
        return [f"{label} : {body[0]}", *body[1:]]
    return [f"{label} :", *body]


def _is_ordered_item(block: str) -> bool:
    return bool(re.match(r"\d+\. ", block))


def service_line(element: Element) -> str:
    """One line for a form, online service or simulator: its kind, title and cerfa number."""
    attributes = element.get("attributes") or {}
    line = f"{attributes.get('type') or 'Service en ligne'} : {inline_text(first_child(element, 'Titre'))}"
    if attributes.get("numerocerfa"):
        line += f" (cerfa n° {attributes['numerocerfa']})"
    return escape_line(line)


def office_line(element: Element) -> str:
    """One line for the office to contact, with its complement (which office, for whom)."""
    line = f"Où s'adresser : {inline_text(first_child(element, 'Titre'))}"
    complement = inline_text(first_child(element, "Complement"))
    if complement:
        line += f" ({complement})"
    return escape_line(line)


def list_lines(element: Element, indent: str = "") -> list[str]:
    """One ``- item`` (or ``1. item`` for a numbered list) line per item, nested lists indented."""
    numbered = (element.get("attributes") or {}).get("type") == "numero"
    lines: list[str] = []
    for number, item in enumerate(element_children(element, "Item"), start=1):
        marker = f"{number}." if numbered else "-"
        text = join_parts(inline_text(part) for part in element_children(item) if part.get("name") != "Liste")
        lines.append(f"{indent}{marker} {escape_line(text)}".rstrip())
        for nested in element_children(item, "Liste"):
            lines.extend(list_lines(nested, indent + " " * (len(marker) + 1)))
    return lines


def join_parts(parts: Iterable[str]) -> str:
    """Paragraphs on one line (a list item, a table cell): "; " between them unless punctuation ends one."""
    text = ""
    for part in (part for part in parts if part):
        text += ("" if not text else " " if text[-1] in ".:;,!?)" or part[0] == "(" else "; ") + part
    return text


def render_table(element: Element) -> list[str]:
    """A table title (if any) as a paragraph, then the table: first row as header, spans repeated."""
    grid = table_grid(element)
    if not grid:
        return []
    width = max(len(row) for row in grid)
    rows = [row + [""] * (width - len(row)) for row in grid]
    lines = [_table_row(rows[0]), _table_row(["---"] * width), *(_table_row(row) for row in rows[1:])]
    title = inline_text(first_child(element, "Titre"))
    return [escape_line(title), "\n".join(lines)] if title else ["\n".join(lines)]


def _table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_grid(element: Element) -> list[list[str]]:
    """The cell texts row by row; merged cells are repeated in every row and column they cover."""
    width = len(element_children(element, "Colonne"))
    pending: dict[int, tuple[int, str]] = {}  # column -> (rows still covered, text) of vertical merges
    grid: list[list[str]] = []
    for row in element_children(element, "Rangée"):
        cells = [(_cell_text(cell), _spans(cell)) for cell in element_children(row, "Cellule")]
        if width and len(pending) + sum(across for _, (across, _down) in cells) > width:
            pending = {}  # the merges announced do not fit this row: the source is inconsistent, ignore them
        line: list[str] = []
        for text, (across, down) in cells:
            while len(line) in pending:
                line.append(_take_pending(pending, len(line)))
            for _ in range(across):
                if down > 1:
                    pending[len(line)] = (down - 1, text)
                line.append(text)
        while len(line) in pending:
            line.append(_take_pending(pending, len(line)))
        if any(line):
            grid.append(line)
    return grid


def _take_pending(pending: dict[int, tuple[int, str]], column: int) -> str:
    rows, text = pending.pop(column)
    if rows > 1:
        pending[column] = (rows - 1, text)
    return text


def _spans(cell: Element) -> tuple[int, int]:
    attributes = cell.get("attributes") or {}
    return _positive(attributes.get("fusionHorizontale")), _positive(attributes.get("fusionVerticale"))


def _positive(value: object) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() and int(value) > 0 else 1


def _cell_text(cell: Element) -> str:
    parts: list[str] = []
    for child in element_children(cell):
        if child.get("name") == "Liste":
            parts.append(join_parts(inline_text(item) for item in element_children(child, "Item")))
        else:
            parts.append(inline_text(child))
    text = join_parts(parts) or inline_text(cell)
    return escape_inline(text).replace("|", "\\|")
