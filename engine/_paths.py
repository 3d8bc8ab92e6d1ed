"""Where the default rule files and model specs are.

In a source checkout (or an editable install) they are the repository's top-level ``rules/`` and
``models/`` folders, which sales ops edit. A wheel carries copies under ``engine/_data/`` (see
``pyproject.toml``), so an installed ``kam`` finds them from any working directory. The checkout
wins when both exist, so an edit to ``rules/`` takes effect without reinstalling.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine._errors import ArgumentError, ConfigError

__all__ = ["as_path", "default_rules_dir", "default_models_dir", "default_artifacts_dir", "MODELS_DIR_ENV"]

#: Environment variable naming the folder of published models (the ``models.dir`` setting).
MODELS_DIR_ENV = "KAM_MODELS_DIR"

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        f"expected kam's default '{name}/' folder next to the package ({_PACKAGE.parent / name}) "
        f"or inside it ({_PACKAGE / '_data' / name}); got neither. Fix: reinstall kam-engine, or pass the "
        "folder explicitly."
    )


def default_rules_dir() -> Path:
    """Return the folder holding the shipped rule files (``rules/*.yaml``)."""
    return _locate("rules")


def default_models_dir() -> Path:
    """Return the folder holding the shipped model specs (``models/*.yaml``)."""
    return _locate("models")


def default_artifacts_dir(environ: dict[str, str] | None = None) -> Path:
    """Return the folder of the published churn and win models when none is passed.

    The same folder from any working directory (a notebook in another folder finds the models):
    ``$KAM_MODELS_DIR`` (the ``models.dir`` setting) when set, else ``artifacts/`` inside
    :func:`default_models_dir` (the checkout's ``models/artifacts``, where ``kam train`` run from
    the checkout publishes). Never relative to the working directory.
    """
    configured = (os.environ if environ is None else environ).get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return default_models_dir() / "artifacts"


def as_path(value: object, what: str, example: str) -> Path:
    """``value`` as a :class:`~pathlib.Path`, or :class:`~engine.ArgumentError` saying what was expected.

    Examples
    --------
    >>> as_path("rules/tiers.yaml", "a rule file", "rules/tiers.yaml").name
    'tiers.yaml'
    >>> as_path(3, "a rule file", "rules/tiers.yaml")
    Traceback (most recent call last):
    ...
    engine._errors.ArgumentError: expected a rule file as a path (str or os.PathLike); got int 3. Fix: pass e.g. 'rules/tiers.yaml'.
    """
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise ArgumentError(f"expected {what} as a path (str or os.PathLike); got {type(value).__name__} "
                        f"{str(value)[:60]}. Fix: pass e.g. {example!r}.")
