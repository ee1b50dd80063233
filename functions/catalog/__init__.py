"""The catalog function (``functions/catalog/``), packaged as ``functions.catalog``."""
