"""Kopeck's pure domain core.

Nothing here imports Django, DRF, Celery or any other Kopeck package (enforced by import-linter).
Functions take the date or instant they work for as an argument and return values that explain
themselves.
"""
