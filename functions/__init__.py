"""Marquee's Lambda functions: one subpackage per code folder, ``functions.<name>`` (handler, logic, models, ...).

Each function's asset keeps this layout (``functions/__init__.py`` and ``functions/<name>/``), so that its handler
setting (``functions.<name>.handler.handler``) and every in-process import use the same module names as on AWS.
See docs/decisions.md, "Function code is one package per function".
"""
