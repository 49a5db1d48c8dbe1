"""The citizen page as HTTP: language choice, the AI notice, security headers, static files."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from souverain.web import i18n, mount_web

pytestmark = pytest.mark.anyio

NOTICES = {"fr": "DÉMO — vous parlez à une IA.", "de": "DEMO — Sie sprechen mit einer KI."}


@pytest.fixture
async def web() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    mount_web(app, notices=NOTICES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
        yield client


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="([a-z]+)"', html)
    assert found is not None, html[:200]
    return found.group(1)


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("", None, "fr"),
        ("", "de-DE,de;q=0.9,en;q=0.8", "de"),
        ("", "en-GB;q=0.5,lb-LU", "lb"),
        ("", "es-ES,it;q=0.9", "fr"),
        ("", "de;q=0,en;q=0.3", "en"),
        ("", "de;q=abc,en;q=0.1", "en"),
        ("?lang=lb", "de", "lb"),
        ("?lang=EN", None, "en"),
        ("?lang=xx", "de", "de"),
    ],
)
async def test_language_from_query_then_accept_language(
    web: httpx.AsyncClient, query: str, accept: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    response = await web.get(f"/{query}", headers=headers)
    assert response.status_code == 200
    assert html_lang(response.text) == expected
    assert i18n.STRINGS[expected]["greeting"] in response.text


async def test_luxembourgish_is_real_luxembourgish(web: httpx.AsyncClient) -> None:
    page = (await web.get("/?lang=lb")).text
    assert "Wéi kann ech Iech hëllefen?" in page
    assert "Mat engem Mënsch schwätzen" in page
    assert "Är Fro" in page


async def test_notice_is_the_use_case_one_or_a_default_per_language(web: httpx.AsyncClient) -> None:
    assert NOTICES["de"] in (await web.get("/?lang=de")).text
    english = (await web.get("/?lang=en")).text
    assert i18n.STRINGS["en"]["default_notice"] in english
    assert "artificial intelligence" in i18n.STRINGS["en"]["default_notice"]


async def test_footer_attribution_and_demo_snapshot(web: httpx.AsyncClient) -> None:
    page = (await web.get("/")).text
    assert "Source : service-public.fr (DILA), Licence Ouverte 2.0" in page
    assert "2016–2020" in page
    assert "Démonstration" in page


async def test_page_headers_forbid_inline_script_and_framing(web: httpx.AsyncClient) -> None:
    response = await web.get("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "accept-language" in response.headers["vary"].lower()
    assert response.headers["content-type"].startswith("text/html")


async def test_no_inline_script_or_event_handler(web: httpx.AsyncClient) -> None:
    page = (await web.get("/")).text
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts, "the page has no script"
    for attributes in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler"
    assert "style=" not in page


async def test_script_strings_block_is_json_in_the_page_language(web: httpx.AsyncClient) -> None:
    page = (await web.get("/?lang=de")).text
    block = re.search(r'<script type="application/json" id="ui-strings">(.*?)</script>', page, re.S)
    assert block is not None
    assert json.loads(block.group(1)) == i18n.script_strings("de")


async def test_static_script_and_style_are_served(web: httpx.AsyncClient) -> None:
    script = await web.get("/static/assistant.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "v1/assistant/chat" in script.text
    style = await web.get("/static/page.css")
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert (await web.get("/static/%2e%2e/routes.py")).status_code == 404


def test_every_language_has_every_string() -> None:
    keys = set(i18n.STRINGS[i18n.DEFAULT_LANGUAGE])
    for language in i18n.LANGUAGES:
        assert set(i18n.STRINGS[language]) == keys, language
        assert all(value.strip() for value in i18n.STRINGS[language].values()), language
        assert "{ticket}" in i18n.STRINGS[language]["handover_done"]
        assert language in i18n.ATTRIBUTION
