"""The access_audit functions (``functions/access_audit/``), packaged as ``functions.access_audit``."""
