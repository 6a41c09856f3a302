"""A bounded queue that drops the oldest item when full, and counts what it dropped.

Live capture must never block on a slow consumer: the newest frame is always the one worth
processing, and every drop is counted so it can be reported rather than hidden.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be ≥ 1")
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: T, block: bool = False) -> None:
        """Add ``item``; when full, drop the oldest (live) or, with ``block``, wait for room (offline
        replay, where every frame must be processed)."""
        with self._cond:
            if block:
                self._cond.wait_for(lambda: len(self._items) < self._maxsize or self._closed)
            if len(self._items) >= self._maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout_s: float | None = None) -> T | None:
        """Next item, or None when closed and empty or when the timeout passes."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout=timeout_s):
                return None
            item = self._items.popleft() if self._items else None
            self._cond.notify_all()  # room for a blocked producer
            return item

    def close(self) -> None:
        """No more items will come; wakes every waiting consumer."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
