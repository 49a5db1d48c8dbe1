"""Values built from a collection's rows, kept in memory until the collection's revision moves on.

Every ingest or deletion bumps a collection's revision, in any process; a value read at an older revision
is read again on next use. The vector matrices and the spelling vocabularies are kept this way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Connection

from souverain.knowledge.collections import CollectionView

T = TypeVar("T")


class RevisionCache(Generic[T]):
    """One value per collection, loaded lazily by ``load``, replaced when the collection's revision moves."""

    def __init__(self, load: Callable[[Connection, CollectionView], T]) -> None:
        self._load = load
        # by collection id: the collection's creation time and revision, and the value read then (an id
        # freed by a deleted collection may be given again: the creation time tells them apart)
        self._values: dict[int, tuple[datetime, int, T]] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a value was read from the database (tests check invalidation)

    def get(self, connection: Connection, collection: CollectionView) -> T:
        """The collection's value at its current revision."""
        with self._lock:
            cached = self._values.get(collection.id)
            if cached is not None and cached[:2] == (collection.created_at, collection.revision):
                return cached[2]
            value = self._load(connection, collection)
            self._values[collection.id] = (collection.created_at, collection.revision, value)
            self.loads += 1
            return value
