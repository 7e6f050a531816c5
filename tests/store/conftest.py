"""Fixtures of the store tests: ``data_backend`` runs a data-store test on SQLite and on MongoDB."""

from tests.store.data_backends import data_backend

__all__ = ["data_backend"]
