"""Recording: pre-trigger ring buffer, post-roll clips (MP4 + JSON sidecar), crash recovery.

See ``recorder`` for the API and how ``leancam run`` wires it, docs/storage.md for the on-disk
layout and what survives a power cut or a full disk.
"""

from appliance.recording.clip import RecoveryReport, recover
from appliance.recording.h264 import EncodedPacket, SoftwareH264Encoder, StreamFormat
from appliance.recording.recorder import Recorder, RecorderConfig, RecorderStatus
from appliance.recording.ring import PacketRing

__all__ = ["EncodedPacket", "PacketRing", "Recorder", "RecorderConfig", "RecorderStatus", "RecoveryReport",
           "SoftwareH264Encoder", "StreamFormat", "recover"]
