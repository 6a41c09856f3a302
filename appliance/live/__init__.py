"""The live appliance: capture thread, bounded frame queue, processing loop, latest-state slot.

``app.LiveAppliance`` wires source → pose → analysis → feedback / recording / web / MQTT for
``leancam run``; ``pipeline`` runs the threads; ``state`` is the slot readers take the newest state
from; ``notify`` and ``signals`` talk to systemd and the one stop event.
"""
