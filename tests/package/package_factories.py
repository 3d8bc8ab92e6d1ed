"""Shared by the public-API walks of tests/package (see the convention in tests/conftest.py)."""

from __future__ import annotations

import pkgutil

import engine


def public_modules() -> list[str]:
    """``engine`` and every public subpackage, found by listing the package (a new one is walked too)."""
    names = ["engine"]
    for info in pkgutil.iter_modules(engine.__path__):
        if info.ispkg and not info.name.startswith("_"):
            names.append(f"engine.{info.name}")
    return names
