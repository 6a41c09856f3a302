"""DropOldestQueue: never blocks the producer, keeps the newest items, counts drops."""

from __future__ import annotations

import threading

from appliance.live.frame_queue import DropOldestQueue


def test_drops_oldest_and_counts() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(2)
    for i in range(5):
        q.put(i)
    assert q.dropped == 3
    assert [q.get(0), q.get(0)] == [3, 4]
    assert q.get(0.01) is None


def test_close_wakes_consumer() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(1)
    got: list[int | None] = []
    t = threading.Thread(target=lambda: got.append(q.get(5.0)))
    t.start()
    q.close()
    t.join(2.0)
    assert got == [None]


def test_blocking_put_waits_for_room_and_loses_nothing() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(1)
    got: list[int] = []

    def consume() -> None:
        while (item := q.get(2.0)) is not None:
            got.append(item)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(50):
        q.put(i, block=True)
    q.close()
    t.join(5.0)
    assert got == list(range(50))
    assert q.dropped == 0
