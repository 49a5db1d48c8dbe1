"""Log lines: request id on every line, and an exception named by its type only, in both formats."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from souverain import logs

SECRET = "Jean Dupont 1893120105732"


@pytest.fixture(autouse=True)
def _restore_souverain_logger() -> Iterator[None]:
    """``configure`` sets the ``souverain`` logger's handlers, level and propagation: put them back for the
    tests that follow (the privacy canary reads the records at DEBUG through the root logger)."""
    logger = logging.getLogger("souverain")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def emit_failure(fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What one logged exception carrying personal data in its message writes to stderr."""
    logs.configure("INFO", fmt)
    token = logs.request_id_var.set("req-123")
    try:
        raise ValueError(f"cannot parse {SECRET}")
    except ValueError:
        logging.getLogger("souverain.test").exception("parsing failed", stack_info=True)
    finally:
        logs.request_id_var.reset(token)
    return capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_an_exception_is_logged_without_its_message_or_traceback(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    written = emit_failure(fmt, capsys)
    assert "parsing failed" in written
    assert "ValueError" in written
    assert "req-123" in written
    assert "Dupont" not in written
    assert "1893120105732" not in written
    assert "Traceback" not in written
    assert "Stack (most recent call last)" not in written


def test_json_lines_are_one_object_each(capsys: pytest.CaptureFixture[str]) -> None:
    line = emit_failure("json", capsys).strip()
    entry = json.loads(line)
    assert entry["exception"] == "ValueError"
    assert entry["request_id"] == "req-123"
    assert entry["level"] == "ERROR"


def test_text_lines_name_the_exception_on_the_same_record(capsys: pytest.CaptureFixture[str]) -> None:
    lines = emit_failure("text", capsys).strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("[req-123] parsing failed")
    assert lines[1] == "exception: ValueError"
