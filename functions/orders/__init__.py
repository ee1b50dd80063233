"""The orders function (``functions/orders/``), packaged as ``functions.orders``."""
