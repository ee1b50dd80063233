"""Marquee's shared library, shipped to every function in the common Lambda layer."""
