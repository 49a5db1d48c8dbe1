"""Collections and the scope rule: a caller sees only its tenant's collections, readable by its use case,
at or below its classification ceiling. Anything else is "not found", exactly as a missing name is, so that
a caller cannot even learn that another tenant's collection exists.

Names are unique within a tenant, so a tenant's use cases share one namespace: creating a collection under
a name another use case of the same tenant already holds is refused as taken, which tells that the name is
in use there and nothing else (not its classification, readers or documents). Tenants never share names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete as delete_rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from souverain.errors import Conflict, InvalidRequest, NotFound
from souverain.governance.classification import rank
from souverain.governance.models import Tenant, UseCase
from souverain.knowledge.models import KnowledgeCollection
from souverain.knowledge.types import Scope
from souverain.settings import Classification
from souverain.storage.orm import utcnow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class CollectionView:
    """A collection as the search and ingest code needs it, detached from the session."""

    id: int
    tenant: str
    name: str
    classification: Classification
    use_cases: tuple[str, ...]
    index_titles: bool
    revision: int
    created_at: datetime  # with the id, tells a collection from a deleted one whose id was reused

    @classmethod
    def of(cls, row: KnowledgeCollection) -> CollectionView:
        """The view of a table row."""
        return cls(
            id=row.id,
            tenant=row.tenant,
            name=row.name,
            classification=Classification(row.classification),
            use_cases=tuple(row.use_cases),
            index_titles=row.index_titles,
            revision=row.revision,
            created_at=row.created_at,
        )


def visible(scope: Scope, collection: CollectionView) -> bool:
    """Whether ``scope`` may read ``collection`` (no use case: a local operator, not bound to one)."""
    if collection.tenant != scope.tenant:
        return False
    if rank(collection.classification) > rank(scope.classification):
        return False
    return scope.use_case is None or scope.use_case in collection.use_cases


def not_found(name: str) -> NotFound:
    """The one refusal for a missing collection and for one outside the scope (they must look the same)."""
    return NotFound(
        f"The collection {name!r} does not exist.", param="collections", code="collection_not_found"
    )


def create(
    session: Session,
    scope: Scope,
    name: str,
    classification: Classification,
    use_cases: Sequence[str],
    index_titles: bool = True,
    registered_readers: bool = False,
) -> CollectionView:
    """A new collection of the scope's tenant, no higher than the scope's ceiling; with
    ``registered_readers``, every reader must be a use case registered for the tenant."""
    if not _NAME.match(name):
        raise InvalidRequest(
            "A collection name has 1 to 100 letters, digits, '.', '_' or '-', and starts with a letter "
            "or digit.",
            param="name",
            code="invalid_collection_name",
        )
    if rank(classification) > rank(scope.classification):
        raise InvalidRequest(
            f"A collection classified {classification.value!r} is above this caller's ceiling "
            f"({scope.classification.value!r}).",
            param="classification",
            code="classification_above_ceiling",
        )
    if registered_readers:
        _check_readers(session, scope.tenant, use_cases)
    if _row(session, scope.tenant, name) is not None:
        raise Conflict(f"The collection {name!r} already exists.", param="name", code="collection_exists")
    now = utcnow()
    row = KnowledgeCollection(
        tenant=scope.tenant,
        name=name,
        classification=classification.value,
        use_cases=sorted(set(use_cases)),
        index_titles=index_titles,
        revision=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return CollectionView.of(row)


def unregistered(session: Session, tenant: str, use_cases: Iterable[str]) -> list[str]:
    """Those of ``use_cases`` that are not use cases registered for ``tenant``."""
    registered = set(
        session.scalars(
            select(UseCase.name).join(Tenant, UseCase.tenant_id == Tenant.id).where(Tenant.name == tenant)
        )
    )
    return [use_case for use_case in dict.fromkeys(use_cases) if use_case not in registered]


def _check_readers(session: Session, tenant: str, use_cases: Sequence[str]) -> None:
    """InvalidRequest naming a reader that is not a use case of ``tenant`` (a misspelt reader would leave
    a collection nobody can read)."""
    unknown = unregistered(session, tenant, use_cases)
    if unknown:
        raise InvalidRequest(
            f"The tenant has no use case {unknown[0]!r}.", param="use_cases", code="unknown_use_case"
        )


def delete(session: Session, scope: Scope, name: str) -> CollectionView:
    """Delete a collection the scope may read, with its documents and chunks (by cascade)."""
    collection = one(session, scope, name)
    session.execute(delete_rows(KnowledgeCollection).where(KnowledgeCollection.id == collection.id))
    return collection


def _row(session: Session, tenant: str, name: str) -> KnowledgeCollection | None:
    query = select(KnowledgeCollection).where(
        KnowledgeCollection.tenant == tenant, KnowledgeCollection.name == name
    )
    return session.scalar(query)


def readable(session: Session, scope: Scope, names: Iterable[str]) -> list[CollectionView]:
    """The named collections (every readable one when none is named); NotFound for any out of scope."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return listed(session, scope)
    rows = session.scalars(
        select(KnowledgeCollection).where(
            KnowledgeCollection.tenant == scope.tenant, KnowledgeCollection.name.in_(wanted)
        )
    )
    found = {view.name: view for view in map(CollectionView.of, rows) if visible(scope, view)}
    for name in wanted:
        if name not in found:
            raise not_found(name)
    return [found[name] for name in wanted]


def one(session: Session, scope: Scope, name: str) -> CollectionView:
    """The named collection, if the scope may read it."""
    return readable(session, scope, [name])[0]


def listed(session: Session, scope: Scope) -> list[CollectionView]:
    """Every collection the scope may read, by name."""
    rows = session.scalars(
        select(KnowledgeCollection)
        .where(KnowledgeCollection.tenant == scope.tenant)
        .order_by(KnowledgeCollection.name)
    )
    return [view for view in map(CollectionView.of, rows) if visible(scope, view)]


def bump_revision(session: Session, collection_id: int) -> None:
    """Mark the collection's chunks as changed, so that cached vectors are reloaded."""
    row = session.get(KnowledgeCollection, collection_id)
    if row is not None:
        row.revision += 1
        row.updated_at = utcnow()
