"""Persistence: the `Storage` contract in base.py, one sub-package per backend."""
