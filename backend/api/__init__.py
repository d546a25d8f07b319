"""HTTP routes: one router per resource, dependencies in `deps.py`."""
