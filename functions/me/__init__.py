"""The me function (``functions/me/``), packaged as ``functions.me``."""
