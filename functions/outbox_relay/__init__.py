"""The outbox_relay function (``functions/outbox_relay/``), packaged as ``functions.outbox_relay``."""
