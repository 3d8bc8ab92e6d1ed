"""Where the default rule files and model specs are.

In a source checkout (or an editable install) they are the repository's top-level ``rules/`` and
``models/`` folders, which sales ops edit. A wheel carries copies under ``engine/_data/`` (see
``pyproject.toml``), so an installed ``kam`` finds them from any working directory. The checkout
wins when both exist, so an edit to ``rules/`` takes effect without reinstalling.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_rules_dir", "default_models_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"kam's default '{name}/' folder was not found next to the package ({_PACKAGE.parent / name}) "
        f"nor inside it ({_PACKAGE / '_data' / name}). Reinstall kam-engine, or pass the folder explicitly."
    )


def default_rules_dir() -> Path:
    """Return the folder holding the shipped rule files (``rules/*.yaml``)."""
    return _locate("rules")


def default_models_dir() -> Path:
    """Return the folder holding the shipped model specs (``models/*.yaml``)."""
    return _locate("models")
