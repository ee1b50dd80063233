"""Scenario modules of the tour: every module in this package is imported by `devkit.tour`, and registers its
scenarios with ``@scenario``. One module per capability (e.g. seat_holds.py, payments.py)."""
