"""Marquee's own tooling on top of the app-agnostic local cloud: the marquee CLI, deploy, invoke, auth, seed, the tour,
and the simulated providers (plugged into the cloud as its extension, devkit/simulators.py)."""
