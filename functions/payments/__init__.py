"""The payments function (``functions/payments/``), packaged as ``functions.payments``."""
