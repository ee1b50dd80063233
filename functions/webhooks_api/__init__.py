"""The webhooks_api function (``functions/webhooks_api/``), packaged as ``functions.webhooks_api``."""
