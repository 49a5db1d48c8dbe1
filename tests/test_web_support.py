"""Support for the citizen-page tests (no tests here): a contract fake of the assistant endpoints, an ASGI
app served by uvicorn on loopback in a thread, and real headless Chromium (Debian ``chromium`` driven by
Playwright) with keyboard helpers.

The fake checks the page's request bodies against the contract and records them. Citation URLs point at
service-public.fr; the browser context answers them itself, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Request
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from souverain.web import mount_web
from tests.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 10_000  # every browser wait is bounded
NOTICES = {
    "fr": "DÉMO — Vous échangez avec une intelligence artificielle, pas avec une personne.",
    "de": "DEMO — Sie sprechen mit einer künstlichen Intelligenz, nicht mit einem Menschen.",
}
SOURCE_URL = "https://www.service-public.fr/particuliers/vosdroits/"
CITATIONS = [
    {
        "n": 1,
        "document_id": "F1234",
        "chunk_id": "F1234:0",
        "title": "Perte de la carte d'identité à l'étranger",
    },
    {"n": 2, "document_id": "F1342", "chunk_id": "F1342:2", "title": "Carte d'identité d'un mineur"},
]
ANSWERS = {
    "fr": "Déclarez la perte au consulat le plus proche [1].\n\nDemandez ensuite une nouvelle carte [2].",
    "de": "Melden Sie den Verlust beim nächsten Konsulat [1].\n\n"
    "Beantragen Sie danach einen neuen Ausweis [2].",
}


class ChatBody(BaseModel):
    """The contract's chat request, strictly: an unknown or missing field is a page defect."""

    model_config = ConfigDict(extra="forbid")
    conversation_id: str | None
    message: str = Field(min_length=1)
    language: Literal["fr", "de", "en", "lb"]
    collection: str | None
    stream: bool


class HandoverBody(BaseModel):
    """The contract's hand-over request."""

    model_config = ConfigDict(extra="forbid")
    conversation_id: str | None
    language: Literal["fr", "de", "en", "lb"]
    question: str = Field(min_length=1)


@dataclass
class FakeAssistant:
    """Contract fake of the assistant endpoints; what the page sent is kept for assertions."""

    hostile: bool = False  # answers echo the question, cite a javascript: URL and a source without one
    offer_handover: bool = False  # replies say the sources do not settle the question
    chats: list[tuple[dict[str, str], ChatBody]] = field(default_factory=list)
    handovers: list[HandoverBody] = field(default_factory=list)
    deltas: list[str] = field(default_factory=list)

    def answer(self, body: ChatBody) -> str:
        text = ANSWERS.get(body.language, ANSWERS["fr"])
        return f"« {body.message} » {text} [3] [4]" if self.hostile else text

    def citations(self) -> list[dict[str, Any]]:
        cited = [{**c, "url": SOURCE_URL + str(c["document_id"])} for c in CITATIONS]
        if self.hostile:
            cited.append(
                {"n": 3, "document_id": "X", "chunk_id": "X:0", "title": "Script", "url": "javascript:x()"}
            )
            cited.append(
                {"n": 4, "document_id": "Y", "chunk_id": "Y:0", "title": "Sans adresse", "url": None}
            )
        return cited

    def reply(self, body: ChatBody, conversation_id: str, first: bool) -> dict[str, Any]:
        return {
            "conversation_id": conversation_id,
            "answer": self.answer(body),
            "language": body.language,
            "citations": self.citations(),
            "notice": NOTICES.get(body.language) if first else None,
            "grounded": True,
            "handover_offered": self.offer_handover,
            "provenance": {"model": "fake-assistant", "weights_sha256": "0" * 64, "created": 1_700_000_000},
        }

    async def events(self, body: ChatBody) -> AsyncIterator[bytes]:
        first = body.conversation_id is None
        conversation_id = body.conversation_id or f"conv-{len(self.chats)}"
        sources = [{"n": c["n"], "title": c["title"], "url": c["url"]} for c in self.citations()]
        notice = NOTICES.get(body.language) if first else None
        yield sse("meta", {"conversation_id": conversation_id, "notice": notice, "sources": sources})
        answer = self.answer(body)
        for start in range(0, len(answer), 12):
            await asyncio.sleep(0.05)  # a model's pace: the page must render each piece as it comes
            if "panne" in body.message and start >= 24:
                yield sse("error", {"error": {"message": "backend failed", "type": "server_error"}})
                return
            self.deltas.append(answer[start : start + 12])
            yield sse("delta", {"text": answer[start : start + 12]})
        yield sse("done", self.reply(body, conversation_id, first))


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def fake_app(fake: FakeAssistant) -> FastAPI:
    """The web page plus the fake assistant endpoints."""
    app = FastAPI()
    mount_web(app, notices=NOTICES)

    @app.post("/v1/assistant/chat")
    async def chat(request: Request) -> Response:
        body = ChatBody.model_validate(orjson.loads(await request.body()))
        fake.chats.append((dict(request.headers), body))
        if not body.stream:
            return JSONResponse(fake.reply(body, body.conversation_id or "conv", True))
        return StreamingResponse(fake.events(body), media_type="text/event-stream")

    @app.post("/v1/assistant/handover", status_code=201)
    async def handover(request: Request) -> dict[str, str]:
        fake.handovers.append(HandoverBody.model_validate(orjson.loads(await request.body())))
        return {"ticket_id": f"HO-{len(fake.handovers):04d}", "status": "open"}

    return app


class ThreadServer:
    """An ASGI app served by uvicorn on a free loopback port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="web-test-server", daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the server thread did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def fake() -> FakeAssistant:
    return FakeAssistant()


@pytest.fixture
def server(fake: FakeAssistant) -> Iterator[ThreadServer]:
    with ThreadServer(fake_app(fake)) as running:
        yield running


def answer_source_pages(route: Route) -> None:
    document = route.request.url.rsplit("/", 1)[-1]
    html = f"<!doctype html><title>Fiche {document}</title><h1>Fiche {document}</h1>"
    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(locale="fr-FR")
    created.set_default_timeout(WAIT_MS)
    created.route(SOURCE_URL + "**", answer_source_pages)
    yield created
    created.close()


@dataclass
class Problems:
    """Console errors (a CSP violation is one) and uncaught exceptions seen on a page."""

    messages: list[str] = field(default_factory=list)


def open_page(context: BrowserContext, url: str) -> tuple[Page, Problems]:
    page = context.new_page()
    problems = Problems()
    page.on("console", lambda m: problems.messages.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.messages.append(str(e)))
    page.goto(url)
    return page, problems


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    pytest.fail(f"{selector} is not reachable with Tab")


WATCH_ANSWER = """() => {
  window.answerSnapshots = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll('.message.assistant .answer');
    if (answers.length) window.answerSnapshots.push(answers[answers.length - 1].textContent);
  }).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
}"""


def ask_with_keyboard(page: Page, question: str) -> None:
    tab_to(page, "#question")
    page.keyboard.type(question)
    page.keyboard.press("Enter")


def switch_language_with_keyboard(page: Page, language: str) -> None:
    """Reach the language link with Tab and follow it with Enter."""
    tab_to(page, f'nav a[hreflang="{language}"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")


def assert_rendered_while_streaming(page: Page, answer: str) -> None:
    """At least two partial answers were on screen before the whole one (needs ``WATCH_ANSWER``)."""
    snapshots: list[str] = page.evaluate("window.answerSnapshots")
    partial = {s for s in snapshots if s and len(s) < len(answer) and answer.startswith(s)}
    assert len(partial) >= 2, f"the answer was not rendered while streaming: {snapshots}"


def open_source_with_keyboard(context: BrowserContext, page: Page, url: str) -> Page:
    """Reach the source link to ``url`` with Tab, open it with Enter; the new page, loaded."""
    tab_to(page, f'ol.sources a[href="{url}"]')
    with context.expect_page() as opened:
        page.keyboard.press("Enter")
    source = opened.value
    source.wait_for_load_state()
    return source
