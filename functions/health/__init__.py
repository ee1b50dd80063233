"""The health function (``functions/health/``), packaged as ``functions.health``."""
