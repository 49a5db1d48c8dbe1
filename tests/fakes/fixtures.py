"""Pytest fixtures around the fakes; load them with ``pytest_plugins = ["tests.fakes.fixtures"]``.

Import ``UpstreamFactory`` under ``TYPE_CHECKING`` only: importing this module before pytest loads it as
a plugin makes pytest warn that it cannot rewrite its asserts, and warnings are errors here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from tests.fakes.upstream import Behaviour, FakeUpstream


class UpstreamFactory(Protocol):
    def __call__(self, behaviour: Behaviour = Behaviour.NORMAL, **options: Any) -> FakeUpstream: ...


@pytest.fixture
def upstreams() -> Iterator[UpstreamFactory]:
    """Start fake upstreams on demand (``upstreams(Behaviour.HANG, delay=1)``); all stop after the test."""
    with contextlib.ExitStack() as stack:

        def start(behaviour: Behaviour = Behaviour.NORMAL, **options: Any) -> FakeUpstream:
            return stack.enter_context(FakeUpstream(behaviour, **options))

        yield start
