"""Accessibility of the citizen page, measured in real headless Chromium: names and labels, landmarks,
language, text contrast (WCAG 2.x, ≥ 4.5:1 for every visible text) and a visible keyboard focus."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from souverain.web import i18n
from tests.test_web_support import (
    FakeAssistant,
    ThreadServer,
    ask_with_keyboard,
    browser,
    context,
    fake,
    open_page,
    server,
)

__all__ = ["browser", "context", "fake", "server"]  # fixtures

VISIBLE_TEXTS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(element)) continue;
    seen.add(element);
    if (!element.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    if (element.closest('.visually-hidden')) continue;
    const layers = [];
    for (let e = element; e; e = e.parentElement) layers.push(getComputedStyle(e).backgroundColor);
    found.push({text: walker.currentNode.textContent.trim().slice(0, 50),
                color: getComputedStyle(element).color, layers: layers});
  }
  return found;
}"""

UNLABELLED = """() => [...document.querySelectorAll('input, textarea, select')]
  .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')))
  .map(e => e.outerHTML)"""

FOCUS = """() => {
  const e = document.activeElement, s = getComputedStyle(e), box = e.getBoundingClientRect();
  return {key: e.id || e.getAttribute('hreflang') || e.className, outline: s.outlineStyle,
          width: parseFloat(s.outlineWidth), top: box.top, height: box.height};
}"""

RGBA = re.compile(r"rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)")


def rgba(css: str) -> tuple[float, float, float, float]:
    found = RGBA.fullmatch(css)
    assert found is not None, f"unexpected colour syntax {css!r}"
    red, green, blue, alpha = found.groups()
    return float(red), float(green), float(blue), float(alpha) if alpha is not None else 1.0


def over(
    top: tuple[float, float, float, float], below: tuple[float, float, float]
) -> tuple[float, float, float]:
    alpha = top[3]
    return (
        top[0] * alpha + below[0] * (1 - alpha),
        top[1] * alpha + below[1] * (1 - alpha),
        top[2] * alpha + below[2] * (1 - alpha),
    )


def luminance(colour: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(text: dict[str, Any]) -> float:
    """The contrast ratio of a text over its composited background (the canvas is white)."""
    background = (255.0, 255.0, 255.0)
    for layer in reversed(text["layers"]):
        background = over(rgba(layer), background)
    foreground = over(rgba(text["color"]), background)
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_matches_wcag_reference_values() -> None:
    black = {"color": "rgb(0, 0, 0)", "layers": ["rgba(0, 0, 0, 0)"]}
    assert contrast(black) == pytest.approx(21.0)
    grey = {"color": "rgb(118, 118, 118)", "layers": ["rgb(255, 255, 255)"]}
    assert contrast(grey) == pytest.approx(4.54, abs=0.01)
    faint = {"color": "rgba(0, 0, 0, 0.3)", "layers": ["rgb(255, 255, 255)"]}
    assert contrast(faint) < 4.5


def conversation_with_offer_and_error(page: Page, language: str) -> None:
    """Fill the page with every kind of message: question, cited answer, hand-over offer, error."""
    ask_with_keyboard(page, "Carte d'identité perdue")
    expect(page.locator(".message.assistant .offer")).to_have_count(1)
    ask_with_keyboard(page, "panne")
    expect(page.get_by_role("alert")).to_have_text(i18n.STRINGS[language]["error"])


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_names_landmarks_language_and_contrast(
    server: ThreadServer, fake: FakeAssistant, context: BrowserContext, language: str
) -> None:
    fake.offer_handover = True
    page, problems = open_page(context, f"{server.base_url}/?lang={language}")
    table = i18n.STRINGS[language]
    assert page.get_attribute("html", "lang") == language
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)
    expect(page.get_by_role("navigation", name=table["language_nav"])).to_have_count(1)
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("textbox", name=table["question_label"])).to_have_count(1)
    expect(page.get_by_role("button", name=table["send"])).to_have_count(1)
    expect(page.get_by_role("button", name=table["handover_button"])).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text(table["greeting"])
    conversation_with_offer_and_error(page, language)

    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate("[...document.images].filter(i => !i.hasAttribute('alt')).length") == 0
    assert page.evaluate("[...document.links].filter(a => !a.textContent.trim()).length") == 0
    texts = page.evaluate(VISIBLE_TEXTS)
    assert len(texts) > 15
    poor = [(t["text"], round(contrast(t), 2)) for t in texts if contrast(t) < 4.5]
    assert poor == [], f"texts under 4.5:1: {poor}"
    assert problems.messages == []


def test_every_control_shows_a_visible_focus_in_tab_order(
    server: ThreadServer, context: BrowserContext
) -> None:
    page, _ = open_page(context, server.base_url + "/")
    seen = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        assert focus["outline"] != "none", focus
        assert focus["width"] >= 2, focus
        assert focus["top"] >= 0, f"focused but off screen: {focus}"
        assert focus["height"] > 0, focus
        seen.append(focus["key"])
    assert seen == ["skip-link", "fr", "de", "en", "lb", "question", "send", "handover"]
