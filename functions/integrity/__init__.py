"""The integrity function (``functions/integrity/``), packaged as ``functions.integrity``."""
