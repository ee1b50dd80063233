"""The webhooks_fanout function (``functions/webhooks_fanout/``), packaged as ``functions.webhooks_fanout``."""
