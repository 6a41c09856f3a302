"""MQTT for fleets and Home Assistant: the unit's sink (``MqttSink``) and the topic contract.

See docs/fleet.md for the topics, payloads and broker setup; ``leancam fleet`` is the reader.
"""

from appliance.mqtt.topics import Topics, unit_slug

__all__ = ["Topics", "unit_slug"]
