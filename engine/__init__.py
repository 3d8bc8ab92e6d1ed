"""kam: a rules-and-scoring engine for key-account valuation.

The public API is imported lazily, so ``import engine`` does no work and pulls in neither
scikit-learn nor durable_rules until they are used.

Data flows one way::

    load -> validate -> features -> rules (tier, route, assign) -> models -> priority -> write
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine._errors import *  # noqa: F403  (the exception tree is cheap and always wanted)
from engine._errors import __all__ as _error_names

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "CUSTOMER_DATABASE": "engine.contract",
    "validate_tables": "engine.validate",
    "ValidationReport": "engine.validate",
    "Database": "engine.storage",
    "generate_demo_database": "engine.demo",
}

__all__ = sorted([*_error_names, *_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from engine.contract import CUSTOMER_DATABASE
    from engine.demo import generate_demo_database
    from engine.storage import Database
    from engine.validate import ValidationReport, validate_tables
