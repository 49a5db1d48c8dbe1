"""The knowledge endpoints through the real application (ASGI, keys, events) with the real encoder:
collections per tenant, ingestion as JSON records, search with the scope of the key, deletion."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from souverain.app import create_app
from souverain.events import MemorySink
from souverain.settings import GovernanceSettings
from souverain.state import Services
from tests.conftest import fake_settings
from tests.governance_fixtures import provision

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]  # the real encoder loads on a busy machine

RECORDS = [
    {
        "id": "F1341",
        "title": "Carte d'identité perdue à l'étranger",
        "text": "En cas de perte de la carte d'identité à l'étranger, adressez-vous au consulat de France, "
        "qui délivre un titre de voyage provisoire pour rentrer.",
        "url": "https://www.service-public.fr/particuliers/vosdroits/F1341",
        "metadata": {"theme": "Papiers"},
    },
    {
        "id": "F1961",
        "title": "Déclaration de naissance",
        "text": "La naissance d'un enfant doit être déclarée à la mairie dans les cinq jours.",
        "metadata": {"theme": "Famille"},
    },
]


class Api:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, sink: MemorySink) -> None:
        self.app, self.client, self.sink = app, client, sink
        services: Services = app.state.services
        self.alpha = provision(services.database.sessions, tenant="alpha", use_case="guichet").key
        self.beta = provision(services.database.sessions, tenant="beta", use_case="guichet").key

    async def call(self, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        return await self.client.request(method, path, json=body, headers=headers)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = fake_settings(tmp_path, governance=GovernanceSettings(auth_required=True))
    sink = MemorySink()
    app = create_app(settings, events=sink)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield Api(app, client, sink)


async def test_collections_ingestion_search_and_deletion(api: Api) -> None:
    created = await api.call(api.alpha, "POST", "/v1/collections", {"name": "aides"})
    assert created.status_code == 201, created.text
    assert created.json() == {
        "object": "collection",
        "name": "aides",
        "classification": "public",
        "use_cases": ["guichet"],
        "index_titles": True,
    }
    report = await api.call(api.alpha, "POST", "/v1/collections/aides/documents", {"documents": RECORDS})
    assert report.status_code == 200, report.text
    assert (report.json()["added"], report.json()["unchanged"]) == (2, 0)
    again = await api.call(api.alpha, "POST", "/v1/collections/aides/documents", {"documents": RECORDS})
    assert (again.json()["added"], again.json()["unchanged"]) == (0, 2)

    found = await api.call(
        api.alpha, "POST", "/v1/search", {"query": "Personalausweis im Ausland verloren", "k": 1}
    )
    assert found.status_code == 200, found.text
    [hit] = found.json()["data"]
    assert (hit["document_id"], hit["chunk_id"], hit["collection"]) == ("F1341", "F1341#0", "aides")
    assert hit["url"] == RECORDS[0]["url"]
    assert "consulat" in hit["text"]

    filtered = await api.call(
        api.alpha,
        "POST",
        "/v1/search",
        {"query": "carte", "collections": ["aides"], "filters": {"theme": "Famille"}},
    )
    assert [h["document_id"] for h in filtered.json()["data"]] == ["F1961"]

    deleted = await api.call(api.alpha, "DELETE", "/v1/collections/aides/documents/F1341")
    assert deleted.status_code == 204
    gone = await api.call(api.alpha, "DELETE", "/v1/collections/aides/documents/F1341")
    assert gone.status_code == 404
    remaining = await api.call(
        api.alpha, "POST", "/v1/search", {"query": "carte d'identité", "collections": ["aides"]}
    )
    assert [h["document_id"] for h in remaining.json()["data"]] == ["F1961"]

    actions = [event.action for event in api.sink.events if event.action.startswith("knowledge.")]
    assert actions.count("knowledge.search") == 3
    assert "knowledge.collection.create" in actions
    assert "knowledge.document.delete" in actions
    searches = [event for event in api.sink.events if event.action == "knowledge.search"]
    assert all("Ausweis" not in repr(event) for event in searches)  # the query is never recorded
    assert searches[0].tenant == "alpha"


async def test_a_key_never_reaches_another_tenants_collection(api: Api) -> None:
    for key, records in ((api.alpha, RECORDS[:1]), (api.beta, RECORDS[1:])):
        assert (await api.call(key, "POST", "/v1/collections", {"name": "aides"})).status_code == 201
        await api.call(key, "POST", "/v1/collections/aides/documents", {"documents": records})
    await api.call(api.alpha, "POST", "/v1/collections", {"name": "alpha-only"})

    beta = await api.call(api.beta, "POST", "/v1/search", {"query": "carte identité naissance", "k": 10})
    assert {h["document_id"] for h in beta.json()["data"]} == {"F1961"}
    named = await api.call(api.beta, "POST", "/v1/search", {"query": "carte", "collections": ["aides"]})
    assert {h["document_id"] for h in named.json()["data"]} == {"F1961"}

    theirs = await api.call(api.beta, "POST", "/v1/search", {"query": "carte", "collections": ["alpha-only"]})
    missing = await api.call(api.beta, "POST", "/v1/search", {"query": "carte", "collections": ["nowhere"]})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "collection_not_found"
    ingest = await api.call(api.beta, "POST", "/v1/collections/alpha-only/documents", {"documents": RECORDS})
    assert ingest.status_code == 404
    listed = await api.call(api.beta, "GET", "/v1/collections")
    assert [c["name"] for c in listed.json()["data"]] == ["aides"]


async def test_requests_are_checked(api: Api) -> None:
    above = await api.call(api.alpha, "POST", "/v1/collections", {"name": "haut", "classification": "secret"})
    assert above.status_code == 400
    assert above.json()["error"]["code"] == "classification_above_ceiling"
    await api.call(api.alpha, "POST", "/v1/collections", {"name": "aides"})
    duplicate = await api.call(api.alpha, "POST", "/v1/collections", {"name": "aides"})
    assert duplicate.status_code == 409
    bad = await api.call(api.alpha, "POST", "/v1/collections/aides/documents", {"documents": [{"id": "x"}]})
    assert bad.status_code == 400
    assert "title" in bad.json()["error"]["message"]
    for body in ({"query": ""}, {"query": "x", "k": 0}, {"query": "x", "filters": {"a b": "c"}}):
        assert (await api.call(api.alpha, "POST", "/v1/search", body)).status_code == 400, body
    assert (await api.client.post("/v1/search", json={"query": "carte"})).status_code == 401


async def test_bodies_that_would_fail_later_are_refused_at_the_edge(api: Api) -> None:
    created = await api.call(api.alpha, "POST", "/v1/collections", {"name": "aides"})
    assert created.status_code == 201
    ingested = await api.call(api.alpha, "POST", "/v1/collections/aides/documents", {"documents": RECORDS})
    assert ingested.status_code == 200
    lone = "\ud800"  # a lone surrogate: valid in Python's JSON parser, not encodable as UTF-8
    refused = [
        ("POST", "/v1/search", {"query": "carte", "collections": [lone]}),
        ("POST", "/v1/search", {"query": "carte", "filters": {"theme": lone}}),
        ("POST", "/v1/collections", {"name": "autres", "use_cases": [lone]}),
        ("POST", "/v1/collections", {"name": f"a{lone}"}),
        ("POST", "/v1/collections/aides/documents", {"documents": [{**RECORDS[0], "title": lone}]}),
        # no coercion: "yes" is not true (here it would have deleted the other page), "3" and true not 3
        ("POST", "/v1/collections/aides/documents", {"documents": RECORDS[:1], "prune": "yes"}),
        ("POST", "/v1/search", {"query": "carte", "k": "3"}),
        ("POST", "/v1/search", {"query": "carte", "k": True}),
    ]
    headers = {"Authorization": f"Bearer {api.alpha}", "Content-Type": "application/json"}
    for method, path, body in refused:
        # json.dumps escapes the surrogate as "\ud800", as a client in another language would send it
        response = await api.client.request(method, path, content=json.dumps(body), headers=headers)
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()["error"]["type"] == "invalid_request_error"
    # nothing was created or deleted by the refused requests
    names = [c["name"] for c in (await api.call(api.alpha, "GET", "/v1/collections")).json()["data"]]
    assert names == ["aides"]
    found = await api.call(api.alpha, "POST", "/v1/search", {"query": "déclaration de naissance", "k": 5})
    assert "F1961" in {hit["document_id"] for hit in found.json()["data"]}
    # a query of invisible characters only (NUL, zero-width space) is as empty as a blank one
    invisible = await api.call(api.alpha, "POST", "/v1/search", {"query": "\u0000\u200b\u2060"})
    assert invisible.status_code == 400
    assert invisible.json()["error"]["code"] == "empty_query"


async def test_readers_must_be_registered_use_cases_including_the_creator(api: Api) -> None:
    services: Services = api.app.state.services
    provision(services.database.sessions, tenant="alpha", use_case="urbanisme")
    provision(services.database.sessions, tenant="beta", use_case="etat-civil")
    cases = [
        ({"name": "a", "use_cases": ["guichet", "guichett"]}, "unknown_use_case"),
        ({"name": "b", "use_cases": ["guichet", "etat-civil"]}, "unknown_use_case"),  # another tenant's
        ({"name": "c", "use_cases": ["urbanisme"]}, "creator_not_reader"),
        ({"name": "d", "use_cases": []}, "creator_not_reader"),
    ]
    for body, code in cases:
        refused = await api.call(api.alpha, "POST", "/v1/collections", body)
        assert refused.status_code == 400, (body, refused.text)
        assert (refused.json()["error"]["code"], refused.json()["error"]["param"]) == (code, "use_cases")
    shared = await api.call(
        api.alpha, "POST", "/v1/collections", {"name": "e", "use_cases": ["guichet", "urbanisme"]}
    )
    assert shared.status_code == 201, shared.text
    assert shared.json()["use_cases"] == ["guichet", "urbanisme"]
    names = [c["name"] for c in (await api.call(api.alpha, "GET", "/v1/collections")).json()["data"]]
    assert names == ["e"]


async def test_a_bad_or_repeated_document_is_named_by_its_place_in_the_request(api: Api) -> None:
    await api.call(api.alpha, "POST", "/v1/collections", {"name": "aides"})
    path = "/v1/collections/aides/documents"
    bad = await api.call(api.alpha, "POST", path, {"documents": [RECORDS[0], {**RECORDS[1], "text": 3}]})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "documents[1]"
    assert bad.json()["error"]["message"] == "documents[1]: 'text' must be a string"
    repeated = await api.call(
        api.alpha, "POST", path, {"documents": [*RECORDS, {**RECORDS[0], "text": "autre"}]}
    )
    assert repeated.status_code == 400
    assert repeated.json()["error"]["code"] == "duplicate_document_id"
    assert repeated.json()["error"]["param"] == "documents[2].id"
    assert "documents[0]" in repeated.json()["error"]["message"]
    empty = {"id": "vide", "title": "Vide", "text": "# Rien d'autre qu'un titre"}
    report = await api.call(api.alpha, "POST", path, {"documents": [*RECORDS, empty]})
    assert report.status_code == 200, report.text
    assert (report.json()["added"], report.json()["empty"], report.json()["duplicates"]) == (2, 1, 0)


async def test_a_collection_is_deleted_with_its_pages_by_a_reader_only(api: Api) -> None:
    await api.call(api.alpha, "POST", "/v1/collections", {"name": "aides"})
    await api.call(api.alpha, "POST", "/v1/collections/aides/documents", {"documents": RECORDS})
    await api.call(api.beta, "POST", "/v1/collections", {"name": "aides"})
    assert (await api.call(api.beta, "DELETE", "/v1/collections/nowhere")).status_code == 404
    deleted = await api.call(api.alpha, "DELETE", "/v1/collections/aides")
    assert deleted.status_code == 204, deleted.text
    assert (await api.call(api.alpha, "GET", "/v1/collections")).json()["data"] == []
    gone = await api.call(api.alpha, "POST", "/v1/search", {"query": "carte", "collections": ["aides"]})
    assert gone.status_code == 404
    assert [c["name"] for c in (await api.call(api.beta, "GET", "/v1/collections")).json()["data"]] == [
        "aides"
    ]
    again = await api.call(api.alpha, "DELETE", "/v1/collections/aides")
    assert again.status_code == 404
    events = [e for e in api.sink.events if e.action == "knowledge.collection.delete"]
    assert [(e.outcome, e.tenant, e.details["collection"]) for e in events] == [
        ("refused", "beta", "nowhere"),
        ("success", "alpha", "aides"),
        ("refused", "alpha", "aides"),
    ]
