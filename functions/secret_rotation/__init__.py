"""The secret_rotation function (``functions/secret_rotation/``), packaged as ``functions.secret_rotation``."""
