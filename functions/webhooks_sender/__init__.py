"""The webhooks_sender function (``functions/webhooks_sender/``), packaged as ``functions.webhooks_sender``."""
