"""Upstream mode: the fake forwards fal's API to the real fal (or a server that speaks it)."""
