"""The throttle that spaces out stores' purges: due on the first call, then at most once per interval."""

from __future__ import annotations

import threading

from souverain.storage.throttle import Throttle


class Ticks:
    """A settable monotonic clock, in seconds."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_due_on_the_first_call_then_once_per_interval() -> None:
    ticks = Ticks()
    throttle = Throttle(60.0, ticks)
    assert throttle.due()
    assert not throttle.due()
    ticks.now += 59.0
    assert not throttle.due()
    ticks.now += 1.0  # 60 s after the last run
    assert throttle.due()
    assert not throttle.due()
    ticks.now += 120.0
    assert throttle.due()


def test_the_window_counts_from_the_last_run_not_the_last_call() -> None:
    ticks = Ticks()
    throttle = Throttle(10.0, ticks)
    assert throttle.due()
    ticks.now += 9.0
    assert not throttle.due()  # a refused call does not restart the window
    ticks.now += 1.0
    assert throttle.due()


def test_a_zero_interval_is_always_due() -> None:
    throttle = Throttle(0.0, Ticks())
    assert all(throttle.due() for _ in range(3))


def test_concurrent_callers_get_one_run() -> None:
    throttle = Throttle(60.0, Ticks())
    barrier = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        outcome = throttle.due()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [False] * 7 + [True]
