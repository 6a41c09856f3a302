"""Gait: causal filtering, ground line, direction, feet and events from one pose frame at a time."""
