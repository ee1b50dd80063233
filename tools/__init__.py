"""Small project tools (code generation), run from the repository root: `python -m tools.<name>`."""
