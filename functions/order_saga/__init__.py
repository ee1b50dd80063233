"""The order_saga function (``functions/order_saga/``), packaged as ``functions.order_saga``."""
