"""Restoring placeholders in answers: whole, and streamed with placeholders split at every position."""

from __future__ import annotations

import itertools
from typing import Any

from souverain.pipeline.output import StreamFilter, filter_completion
from souverain.privacy.restore import Restorer

VALUES = {
    "<PERSON_1>": "Marie Dupont",
    "<PERSON_10>": "Jean Weber",
    "<LU_MATRICULE_1>": "1893120105732",
    "<IBAN_1>": "LU28 0019 4006 4475 0000",
}
ANSWER = "Bonjour <PERSON_1>, votre <LU_MATRICULE_1> et <IBAN_1> (<PERSON_10>, <PERSON_9>) <3 a<b"
RESTORED = (
    "Bonjour Marie Dupont, votre 1893120105732 et LU28 0019 4006 4475 0000 (Jean Weber, <PERSON_9>) <3 a<b"
)


def chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def streamed(pieces: list[str]) -> str:
    """What a client receives when the model streams ``pieces`` and then finishes."""
    stream = StreamFilter([Restorer(VALUES)])
    out = []
    for piece in [*pieces, None]:
        c = chunk(piece, "stop" if piece is None else None)
        stream.apply(c)
        out.append(c["choices"][0]["delta"].get("content") or "")
    return "".join(out) + stream.remainder()


def minimal_hold(text: str) -> str:
    """The longest tail of ``text`` that is an unfinished known placeholder (brute force)."""
    for start in range(len(text)):
        tail = text[start:]
        if any(p.startswith(tail) and tail != p for p in VALUES):
            return tail
    return ""


def test_whole_answers_are_restored_and_unknown_placeholders_kept() -> None:
    assert Restorer(VALUES).complete(ANSWER) == RESTORED
    body = {"choices": [{"message": {"role": "assistant", "content": ANSWER}}]}
    filter_completion([Restorer(VALUES)], body)
    assert body["choices"][0]["message"]["content"] == RESTORED


def test_split_in_two_at_every_position() -> None:
    for cut in range(len(ANSWER) + 1):
        assert streamed([ANSWER[:cut], ANSWER[cut:]]) == RESTORED, cut


def test_split_in_three_at_every_pair_of_positions() -> None:
    for first, second in itertools.combinations(range(1, len(ANSWER)), 2):
        pieces = [ANSWER[:first], ANSWER[first:second], ANSWER[second:]]
        assert streamed(pieces) == RESTORED, (first, second)


def test_one_character_per_chunk() -> None:
    assert streamed(list(ANSWER)) == RESTORED


def test_only_a_possible_placeholder_start_is_held_back() -> None:
    restorer = Restorer(VALUES)
    sent = ""
    for end in range(1, len(ANSWER) + 1):
        sent += restorer.feed(ANSWER[end - 1])
        assert restorer.held == minimal_hold(ANSWER[:end]), ANSWER[:end]
        # everything before the held tail has already gone out, restored
        assert sent == restorer.complete(ANSWER[: end - len(restorer.held)])
    assert restorer.flush() == ""


def test_text_that_cannot_become_a_known_placeholder_is_sent_at_once() -> None:
    restorer = Restorer(VALUES)
    assert restorer.feed("a <") == "a "
    assert restorer.feed("b") == "<b"  # "<b" starts no placeholder
    assert restorer.feed(" <IB") == " "
    assert restorer.feed("X") == "<IBX"
    assert restorer.feed("<EMAIL_") == "<EMAIL_"  # no e-mail in this vault
    assert restorer.feed("<PERSON_1") == ""  # <PERSON_1> or <PERSON_10>: wait for the next character
    assert restorer.feed("0") == ""
    assert restorer.feed(">!") == "Jean Weber!"
    assert restorer.feed("<PERSON_") == ""
    assert restorer.flush() == "<PERSON_"  # a stream that stops mid-placeholder loses nothing
    assert restorer.flush() == ""


def test_an_empty_vault_holds_nothing() -> None:
    restorer = Restorer({})
    assert restorer.feed("<PERSON_") == "<PERSON_"
    assert restorer.complete("<PERSON_1>") == "<PERSON_1>"
