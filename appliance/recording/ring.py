"""The pre-trigger ring: the last few seconds of encoded packets, always starting on a keyframe.

Packets are kept as whole GOPs (a keyframe and the frames that depend on it) so whatever the ring
hands out can be decoded on its own. Old GOPs are dropped only while the rest still covers
``keep_s``, so the ring holds between ``keep_s`` and ``keep_s`` + one GOP of video.

The encoder thread pushes while the web, tests and triggers read, so every method takes a lock.
"""

from __future__ import annotations

import threading
from collections import deque

from appliance.recording.h264 import EncodedPacket


class PacketRing:
    """Encoded packets of the last ``keep_s`` seconds (plus up to one GOP), grouped by GOP."""

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._gops: deque[list[EncodedPacket]] = deque()
        self._bytes = 0
        self.dropped_before_keyframe = 0
        self._lock = threading.Lock()

    def push(self, packet: EncodedPacket) -> None:
        with self._lock:
            self._push(packet)

    def _push(self, packet: EncodedPacket) -> None:
        if packet.keyframe:
            self._gops.append([packet])
        elif self._gops:
            self._gops[-1].append(packet)
        else:
            # Nothing decodable without its keyframe (only happens right after start-up).
            self.dropped_before_keyframe += 1
            return
        self._bytes += packet.size_bytes
        newest_t_s = packet.t_s
        while len(self._gops) >= 2 and self._gops[1][0].t_s <= newest_t_s - self.keep_s:
            old = self._gops.popleft()
            self._bytes -= sum(p.size_bytes for p in old)

    def since(self, t_s: float) -> list[EncodedPacket]:
        """Packets from the last keyframe at or before ``t_s`` (the oldest one if none is) to now."""
        with self._lock:
            gops = list(self._gops)
        start = 0
        for i, gop in enumerate(gops):
            if gop[0].t_s <= t_s:
                start = i
            else:
                break
        return [p for gop in gops[start:] for p in list(gop)]

    def clear(self) -> None:
        with self._lock:
            self._gops.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def span_s(self) -> float:
        with self._lock:
            if not self._gops:
                return 0.0
            return self._gops[-1][-1].t_s - self._gops[0][0].t_s

    def __len__(self) -> int:
        with self._lock:
            return sum(len(g) for g in self._gops)
