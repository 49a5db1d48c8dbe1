"""Output filters applied to whole answers and to streamed deltas (held-back text is never lost)."""

from __future__ import annotations

from typing import Any

from souverain.pipeline.output import StreamFilter, filter_completion


class Replace:
    """Replaces ``<X>`` by ``Jean``, holding back a trailing ``<`` or ``<X`` that may be split."""

    def __init__(self) -> None:
        self.held = ""

    def complete(self, text: str) -> str:
        return text.replace("<X>", "Jean")

    def feed(self, delta: str) -> str:
        text = self.held + delta
        cut = text.rfind("<")
        if cut != -1 and ">" not in text[cut:]:
            self.held, text = text[cut:], text[:cut]
        else:
            self.held = ""
        return text.replace("<X>", "Jean")

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held


def chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_whole_answers_are_rewritten() -> None:
    body = {"choices": [{"message": {"role": "assistant", "content": "Bonjour <X> !"}}]}
    filter_completion([Replace()], body)
    assert body["choices"][0]["message"]["content"] == "Bonjour Jean !"


def test_a_placeholder_split_across_chunks_is_restored_and_nothing_is_lost() -> None:
    stream = StreamFilter([Replace()])
    chunks = [chunk("Bonjour <"), chunk("X"), chunk("> et <"), chunk(None, "stop")]
    out = []
    for c in chunks:
        stream.apply(c)
        out.append(c["choices"][0]["delta"].get("content", ""))
    assert out == ["Bonjour ", "", "Jean et ", "<"]
    assert stream.remainder() == ""


def test_text_held_when_a_stream_ends_without_finish_reason_is_returned() -> None:
    stream = StreamFilter([Replace(), Replace()])
    c = chunk("fin <X")
    stream.apply(c)
    assert c["choices"][0]["delta"]["content"] == "fin "
    assert stream.remainder() == "<X"
