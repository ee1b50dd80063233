"""The webhooks_inbound function (``functions/webhooks_inbound/``), packaged as ``functions.webhooks_inbound``."""
