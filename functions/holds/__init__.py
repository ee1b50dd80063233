"""The holds function (``functions/holds/``), packaged as ``functions.holds``."""
