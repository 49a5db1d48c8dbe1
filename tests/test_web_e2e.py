"""The citizen page end to end in headless Chromium: the real application (assistant, governance, privacy
and audit layers), its model a fake OpenAI server on loopback streaming word by word, its knowledge base
an in-memory retriever of service-public.fr passages.

Authentication is switched off here (the page sends no key, and the anonymous development use case
answers it): how the page's calls are authorised in production is the application's wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import BrowserContext, expect

from souverain.api import assistant_routes
from souverain.app import create_app
from souverain.assistant.service import AssistantOptions
from souverain.events import MemorySink
from souverain.settings import BackendSettings, GovernanceSettings, ModelSettings, RouteSettings
from souverain.web import i18n, mount_web
from tests.conftest import fake_settings
from tests.fakes.assistant_gateway import wire_assistant
from tests.fakes.retriever import FakeCollection, FakeRetriever, passage
from tests.fakes.upstream import FakeUpstream
from tests.test_web_support import (
    SOURCE_URL,
    WATCH_ANSWER,
    ThreadServer,
    ask_with_keyboard,
    assert_rendered_while_streaming,
    browser,
    context,
    open_page,
    open_source_with_keyboard,
    tab_to,
)

__all__ = ["browser", "context"]  # fixtures

PAGES = [
    passage(
        "fiches",
        "F1234",
        "Carte d'identité perdue à l'étranger",
        "En cas de perte de la carte d'identité à l'étranger, faites une déclaration de perte au consulat.",
    ),
    passage(
        "fiches", "F5678", "Passeport", "Le passeport d'un enfant perdu à l'étranger se demande au consulat."
    ),
]
REPLY = "Déclarez la perte de la carte au consulat [1]. Le passeport se demande aussi au consulat [2]."


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(reply=REPLY, chunk_delay=0.04) as server:
        yield server


def has_route(app: FastAPI, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in app.routes)


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream) -> Iterator[tuple[ThreadServer, FastAPI]]:
    settings = fake_settings(
        tmp_path,
        governance=GovernanceSettings(auth_required=False),
        backends={"upstream": BackendSettings(kind="openai", base_url=upstream.base_url)},
        models=[
            ModelSettings(name="chat-fake", routes=[RouteSettings(backend="upstream")], max_output_tokens=400)
        ],
    )
    app = create_app(settings, events=MemorySink())
    if not has_route(app, "/"):
        mount_web(app)
    retriever = FakeRetriever([FakeCollection("local", "fiches", hits=PAGES)])
    with ThreadServer(app) as server:
        # this test's passages answer, whatever knowledge base the application wires by default
        wire_assistant(app, retriever, AssistantOptions(model="chat-fake"))
        yield server, app


def test_question_streams_a_cited_answer_from_the_real_assistant(
    gateway: tuple[ThreadServer, FastAPI], upstream: FakeUpstream, context: BrowserContext
) -> None:
    server, app = gateway
    page, problems = open_page(context, server.base_url + "/")
    expect(page.locator("#ai-notice")).to_be_visible()
    assert page.get_attribute("html", "lang") == "fr"

    page.evaluate(WATCH_ANSWER)
    question = "Mon fils a perdu sa carte d'identité à l'étranger, que faire ?"
    ask_with_keyboard(page, question)
    expect(page.locator("#status")).to_have_text(i18n.STRINGS["fr"]["answered"])
    assert_rendered_while_streaming(page, REPLY)
    assistant = page.locator(".message.assistant")
    expect(assistant).to_contain_text("Déclarez la perte de la carte au consulat")
    expect(page.locator("#ai-notice-text")).not_to_be_empty()

    sources = assistant.locator("ol.sources a")
    expect(sources).to_have_count(2)
    expect(sources.first).to_have_attribute("href", SOURCE_URL + "F1234")
    expect(sources.first).to_contain_text(PAGES[0].title)
    source = open_source_with_keyboard(context, page, SOURCE_URL + "F1234")
    assert source.url == SOURCE_URL + "F1234"
    source.close()

    tab_to(page, "#handover")
    page.keyboard.press("Enter")
    ticket = page.locator("#ticket")
    expect(ticket).not_to_be_empty()
    queue = assistant_routes.assistant_of(app.state.services).handovers.staff_queue(None, "open")
    assert [(t.ticket_id, t.language, t.question) for t in queue] == [(ticket.inner_text(), "fr", question)]
    assert upstream.count() == 1
    assert problems.messages == []


def test_unanswerable_german_question_offers_a_person_and_hands_over(
    gateway: tuple[ThreadServer, FastAPI], upstream: FakeUpstream, context: BrowserContext
) -> None:
    server, app = gateway
    page, problems = open_page(context, server.base_url + "/?lang=de")
    german = i18n.STRINGS["de"]
    question = "Wie melde ich meinen Hund beim Tierarzt an?"
    ask_with_keyboard(page, question)
    expect(page.locator("#status")).to_have_text(german["answered"])
    expect(page.locator(".message.assistant .offer")).to_have_text(german["handover_offered"])
    expect(page.locator("#handover-section")).to_have_class("handover offered")
    expect(page.locator(".message.assistant ol.sources")).to_have_count(0)

    tab_to(page, "#handover")
    page.keyboard.press("Enter")
    ticket = page.locator("#ticket")
    expect(ticket).not_to_be_empty()
    queue = assistant_routes.assistant_of(app.state.services).handovers.staff_queue(None, "open")
    assert [(t.ticket_id, t.language, t.question) for t in queue] == [(ticket.inner_text(), "de", question)]
    assert problems.messages == []
