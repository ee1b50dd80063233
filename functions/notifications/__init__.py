"""The notifications function (``functions/notifications/``), packaged as ``functions.notifications``."""
