"""The per-process queue in front of an organization's row lock: one holder per
organization, waiters served in arrival order, other organizations never held up."""

from __future__ import annotations

import threading
import time

from credo.adapters.db.gates import OrgGates


def _wait_until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


def test_waiters_take_their_turn_in_arrival_order() -> None:
    gates = OrgGates()
    gates.acquire("org_a")
    order: list[int] = []
    threads = []
    for i in range(8):

        def take(i: int = i) -> None:
            gates.acquire("org_a")
            order.append(i)
            gates.release("org_a")

        th = threading.Thread(target=take, daemon=True)
        th.start()
        threads.append(th)
        # Each waiter is queued before the next one starts.
        _wait_until(lambda i=i: gates.waiting("org_a") == i + 1)
    assert order == []  # nobody passes while the gate is held
    gates.release("org_a")
    for th in threads:
        th.join(5)
        assert not th.is_alive()
    assert order == list(range(8))
    assert gates.held() == 0  # the last one out forgets the organization


def test_another_organization_is_not_held_up() -> None:
    gates = OrgGates()
    gates.acquire("org_a")
    passed = threading.Event()

    def other() -> None:
        gates.acquire("org_b")
        passed.set()
        gates.release("org_b")

    th = threading.Thread(target=other, daemon=True)
    th.start()
    assert passed.wait(5)
    th.join(5)
    assert not th.is_alive()
    assert gates.held() == 1
    gates.release("org_a")
    assert gates.held() == 0


def test_one_holder_at_a_time_under_contention() -> None:
    gates = OrgGates()
    inside = [0]
    most = [0]
    count = [0]

    def work() -> None:
        for _ in range(200):
            gates.acquire("org")
            inside[0] += 1
            time.sleep(0)  # let another thread in, were the gate open
            most[0] = max(most[0], inside[0])
            count[0] += 1
            inside[0] -= 1
            gates.release("org")

    threads = [threading.Thread(target=work, daemon=True) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
        assert not th.is_alive()
    assert (most[0], count[0], gates.held()) == (1, 1200, 0)
