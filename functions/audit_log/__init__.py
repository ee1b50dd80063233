"""The audit_log function (``functions/audit_log/``), packaged as ``functions.audit_log``."""
