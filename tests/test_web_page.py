"""The citizen page in real headless Chromium, on loopback, against a contract fake of the assistant.

Keyboard only: the language switch, the question, the sources and the hand-over are reached with Tab and
activated with Enter.
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Locator, expect

from souverain.web import i18n
from tests.test_web_support import (
    ANSWERS,
    CITATIONS,
    NOTICES,
    SOURCE_URL,
    WATCH_ANSWER,
    FakeAssistant,
    ThreadServer,
    ask_with_keyboard,
    assert_rendered_while_streaming,
    browser,
    context,
    fake,
    open_page,
    open_source_with_keyboard,
    server,
    switch_language_with_keyboard,
    tab_to,
)

__all__ = ["browser", "context", "fake", "server"]  # fixtures


def check_sources(assistant: Locator, first_url: str) -> None:
    sources = assistant.locator("ol.sources a")
    expect(sources).to_have_count(2)
    expect(sources.first).to_have_attribute("href", first_url)
    expect(sources.first).to_have_attribute("target", "_blank")
    assert "noopener" in (sources.first.get_attribute("rel") or "")
    expect(sources.first).to_contain_text(str(CITATIONS[0]["title"]))
    expect(assistant.locator("a.cite").first).to_have_attribute("href", first_url)


def test_notice_comes_first_and_the_language_switch_works_with_the_keyboard(
    server: ThreadServer, context: BrowserContext
) -> None:
    page, problems = open_page(context, server.base_url + "/")
    assert page.get_attribute("html", "lang") == "fr"
    expect(page.locator("#ai-notice")).to_be_visible()
    expect(page.locator("#ai-notice-text")).to_have_text(NOTICES["fr"])
    expect(page.locator("#log .message")).to_have_count(0)  # the notice comes before any answer

    switch_language_with_keyboard(page, "de")
    german = i18n.STRINGS["de"]
    assert page.get_attribute("html", "lang") == "de"
    expect(page.locator("h1")).to_have_text(german["greeting"])
    expect(page.locator("#ai-notice-text")).to_have_text(NOTICES["de"])
    expect(page.get_by_role("textbox", name=german["question_label"])).to_be_visible()
    expect(page.locator('nav a[aria-current="true"]')).to_have_attribute("hreflang", "de")
    assert problems.messages == []


def test_citizen_asks_in_german_opens_a_source_and_asks_for_a_person(
    server: ThreadServer, fake: FakeAssistant, context: BrowserContext
) -> None:
    page, problems = open_page(context, server.base_url + "/")
    switch_language_with_keyboard(page, "de")
    page.evaluate(WATCH_ANSWER)
    question = "Mein Sohn hat seinen Ausweis im Ausland verloren, was tun?"
    ask_with_keyboard(page, question)
    expect(page.locator("#status")).to_have_text(i18n.STRINGS["de"]["answered"])
    expect(page.locator(".message.user").first).to_contain_text(question)
    assert len(fake.deltas) > 1
    assert_rendered_while_streaming(page, ANSWERS["de"])
    assistant = page.locator(".message.assistant").first
    expect(assistant).to_contain_text("Melden Sie den Verlust beim nächsten Konsulat")
    expect(assistant.locator(".text")).to_have_attribute("data-model", "fake-assistant")
    headers, sent = fake.chats[0]
    assert "authorization" not in headers
    assert (sent.language, sent.conversation_id, sent.message, sent.stream) == ("de", None, question, True)

    check_sources(assistant, SOURCE_URL + "F1234")
    source = open_source_with_keyboard(context, page, SOURCE_URL + "F1234")
    assert source.url == SOURCE_URL + "F1234"
    assert source.title() == "Fiche F1234"
    assert source.evaluate("window.opener") is None
    source.close()

    tab_to(page, "#handover")
    page.keyboard.press("Enter")
    expect(page.locator("#ticket")).to_have_text("HO-0001")
    expect(page.locator("#handover-status")).to_contain_text(i18n.STRINGS["de"]["handover_done"][:20])
    handed = fake.handovers[0]
    assert (handed.conversation_id, handed.language, handed.question) == ("conv-1", "de", question)
    assert problems.messages == []


def test_follow_up_question_continues_the_conversation(
    server: ThreadServer, fake: FakeAssistant, context: BrowserContext
) -> None:
    page, problems = open_page(context, server.base_url + "/")
    for question in ("Carte d'identité perdue à l'étranger", "Et pour un mineur ?"):
        ask_with_keyboard(page, question)
        expect(page.locator(".message.assistant ol.sources")).to_have_count(len(fake.chats))
        expect(page.locator("#status")).to_have_text(i18n.STRINGS["fr"]["answered"])
    assert [body.conversation_id for _, body in fake.chats] == [None, "conv-1"]
    assert [body.language for _, body in fake.chats] == ["fr", "fr"]
    expect(page.locator(".message.user")).to_have_count(2)
    assert problems.messages == []


def test_answer_text_is_never_markup_and_only_web_links_are_clickable(
    server: ThreadServer, fake: FakeAssistant, context: BrowserContext
) -> None:
    fake.hostile = True
    page, problems = open_page(context, server.base_url + "/")
    hostile = '<img src="x" id="injected"> Perte de carte'
    ask_with_keyboard(page, hostile)
    expect(page.locator("#status")).to_have_text(i18n.STRINGS["fr"]["answered"])
    expect(page.locator("#injected")).to_have_count(0)
    assistant = page.locator(".message.assistant")
    expect(assistant).to_contain_text(hostile)
    expect(assistant.locator("ol.sources li")).to_have_count(4)
    expect(assistant.locator("ol.sources a")).to_have_count(2)
    expect(assistant.locator("ol.sources li").nth(3)).to_have_text("Sans adresse")
    expect(page.locator('a[href^="javascript"]')).to_have_count(0)
    expect(assistant.locator(".answer a.cite")).to_have_count(2)
    expect(assistant.locator(".answer")).to_contain_text("[3] [4]")  # left as plain text
    assert problems.messages == []


def test_a_stream_error_is_announced_and_the_page_recovers(
    server: ThreadServer, fake: FakeAssistant, context: BrowserContext
) -> None:
    page, _ = open_page(context, server.base_url + "/?lang=en")
    ask_with_keyboard(page, "panne: tell me about passports")
    expect(page.get_by_role("alert")).to_have_text(i18n.STRINGS["en"]["error"])
    expect(page.locator("#log")).to_have_attribute("aria-busy", "false")
    ask_with_keyboard(page, "How do I renew a passport?")
    expect(page.locator(".message.assistant ol.sources")).to_have_count(1)
    expect(page.locator("#status")).to_have_text(i18n.STRINGS["en"]["answered"])


def test_handover_before_any_question_asks_for_the_question_first(
    server: ThreadServer, fake: FakeAssistant, context: BrowserContext
) -> None:
    page, _ = open_page(context, server.base_url + "/?lang=lb")
    tab_to(page, "#handover")
    page.keyboard.press("Enter")
    expect(page.locator("#handover-status")).to_have_text(i18n.STRINGS["lb"]["empty"])
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type("Wéi kréien ech eng nei Identitéitskaart?")
    tab_to(page, "#handover")
    page.keyboard.press("Enter")
    expect(page.locator("#ticket")).to_have_text("HO-0001")
    assert fake.handovers[0].question == "Wéi kréien ech eng nei Identitéitskaart?"
    assert fake.handovers[0].conversation_id is None
    assert fake.chats == []
