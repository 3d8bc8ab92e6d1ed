"""The data contract of the customer database (the spec; :mod:`engine.validate` executes it)."""

from engine.contract._spec import Column, Contract, RowCheck, Table
from engine.contract._tables import CUSTOMER_DATABASE

__all__ = ["Column", "Contract", "RowCheck", "Table", "CUSTOMER_DATABASE"]
