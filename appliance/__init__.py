"""LeanCam: a running-form appliance (pose → gait events → forward-lean verdicts)."""

__version__ = "0.1.0"
