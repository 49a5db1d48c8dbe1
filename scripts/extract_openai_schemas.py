"""Extract, from OpenAI's official OpenAPI description, the response schemas our conformance tests check.

Run once by hand (the tests read the committed extract and never need the source file):

    .venv/bin/python scripts/extract_openai_schemas.py \
        [--spec /work/shared/data/openai-openapi/openapi.yaml] [--out tests/schemas/openai_extract.json]

The extract keeps the source's layout (``components.schemas``) so that its ``$ref``s
(``#/components/schemas/Name``) resolve inside the extract unchanged. One rewrite is applied: the source
declares ``openapi: 3.1.0`` (JSON Schema 2020-12) yet still uses OpenAPI 3.0's ``nullable: true`` in places,
a keyword JSON Schema ignores; each such schema becomes ``anyOf: [<schema>, {type: null}]``, which is what
the description means and what OpenAI's API sends (e.g. ``finish_reason: null`` in stream chunks).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SPEC = Path("/work/shared/data/openai-openapi/openapi.yaml")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "schemas" / "openai_extract.json"
EXTRACT_ID = "urn:souverain:openai-openapi-extract"
REF_PREFIX = "#/components/schemas/"

ROOTS = (
    "ListModelsResponse",  # GET /v1/models
    "CreateChatCompletionResponse",  # POST /v1/chat/completions
    "CreateChatCompletionStreamResponse",  # each SSE chunk of a streamed completion
    "CreateEmbeddingResponse",  # POST /v1/embeddings
    "ErrorResponse",  # the error envelope
)


def referenced_names(node: Any) -> set[str]:
    """Names of the component schemas ``node`` refers to directly."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith(REF_PREFIX):
                    raise ValueError(f"unsupported reference {ref!r}")
                found.add(ref.removeprefix(REF_PREFIX))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def closure(schemas: dict[str, Any], roots: tuple[str, ...]) -> list[str]:
    """The roots and every schema they reference, transitively, sorted by name."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in schemas:
            raise KeyError(f"schema {name!r} is not in components.schemas")
        seen.add(name)
        todo.extend(referenced_names(schemas[name]) - seen)
    return sorted(seen)


def rewrite_nullable(node: Any) -> Any:
    """Replace OpenAPI 3.0 ``nullable: true`` by its JSON Schema equivalent, recursively."""
    if isinstance(node, list):
        return [rewrite_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: rewrite_nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [rewritten, {"type": "null"}]}
    return rewritten


def source_commit(spec_path: Path) -> str | None:
    """The upstream commit recorded in the SOURCE.md next to the description, if any."""
    source = spec_path.parent / "SOURCE.md"
    if not source.is_file():
        return None
    match = re.search(r"\b([0-9a-f]{40})\b", source.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def extract(spec: dict[str, Any], commit: str | None) -> dict[str, Any]:
    """The self-contained extract document for ``ROOTS``."""
    schemas = spec["components"]["schemas"]
    names = closure(schemas, ROOTS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": EXTRACT_ID,
        "x-source": {
            "repository": "https://github.com/openai/openai-openapi",
            "file": "openapi.yaml",
            "commit": commit,
            "openapi": spec.get("openapi"),
            "info_version": spec.get("info", {}).get("version"),
            "license": "MIT (see LICENSE-openai-openapi)",
            "roots": list(ROOTS),
            "rewrites": "nullable: true -> anyOf [schema, {type: null}]",
        },
        "components": {"schemas": {name: rewrite_nullable(schemas[name]) for name in names}},
    }


def main(argv: list[str] | None = None) -> int:
    """Read the description, write the extract, and say what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="OpenAI's openapi.yaml")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the extract")
    args = parser.parse_args(argv)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads the 3 MB file much faster
    with args.spec.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    document = extract(spec, source_commit(args.spec))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    args.out.write_text(text, encoding="utf-8")
    count = len(document["components"]["schemas"])
    print(f"wrote {args.out} ({count} schemas, {len(text)} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
