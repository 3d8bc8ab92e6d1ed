"""Where the default rule files, model specs and published models are.

In a source checkout (or an editable install) the rule files and model specs are the repository's
top-level ``rules/`` and ``models/`` folders, which sales ops edit. A wheel carries copies under
``engine/_data/`` (see ``pyproject.toml``), so an installed ``kam`` finds them from any working
directory. The checkout wins when both exist, so an edit to ``rules/`` takes effect without
reinstalling.

Published models (what ``kam train`` writes) never go inside an installed package, which an
upgrade replaces and a system install may not let the user write: a checkout keeps them in
``models/artifacts``, an install in the user's data folder (:func:`user_data_dir`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from engine._errors import ArgumentError, ConfigError

__all__ = [
    "as_path",
    "default_rules_dir",
    "default_models_dir",
    "default_artifacts_dir",
    "user_data_dir",
    "MODELS_DIR_ENV",
]

#: Environment variable naming the folder of published models (the ``models.dir`` setting).
MODELS_DIR_ENV = "KAM_MODELS_DIR"

_PACKAGE = Path(__file__).resolve().parent


def _checkout_root(package: Path | None = None) -> Path | None:
    """The source checkout ``package`` runs from (its ``pyproject.toml`` beside it), else None.

    An installed package sits in ``site-packages``, where a top-level ``models/`` or ``rules/``
    folder would belong to some other distribution: only a checkout's folders count.
    """
    root = (_PACKAGE if package is None else package).parent
    return root if (root / "pyproject.toml").is_file() else None


def _locate(name: str) -> Path:
    root = _checkout_root()
    candidates = ([root / name] if root is not None else []) + [_PACKAGE / "_data" / name]
    for candidate in candidates:
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


def user_data_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Return kam's folder in the user's data directory (the platform's convention, as platformdirs).

    Linux and other Unix: ``$XDG_DATA_HOME/kam`` (default ``~/.local/share/kam``); macOS:
    ``~/Library/Application Support/kam``; Windows: ``%LOCALAPPDATA%\\kam``.

    Examples
    --------
    >>> user_data_dir({"XDG_DATA_HOME": "/data/alice"}, platform="linux").as_posix()
    '/data/alice/kam'
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        # the XDG spec: a relative XDG_DATA_HOME is invalid and ignored
        configured = environ.get("XDG_DATA_HOME", "")
        base = configured if os.path.isabs(configured) else str(Path.home() / ".local" / "share")
    return Path(base) / "kam"


def default_artifacts_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the folder of the published churn and win models when none is passed.

    The same folder from any working directory (a notebook in another folder finds the models),
    never relative to it, and never inside an installed package:

    1. ``$KAM_MODELS_DIR`` (the ``models.dir`` setting) when set;
    2. in a source checkout, its ``models/artifacts`` (where ``kam train`` run there publishes);
    3. installed from a wheel, ``models`` in the user's data folder (:func:`user_data_dir`, e.g.
       ``~/.local/share/kam/models``). Scoring with nothing published there fails with a
       :class:`~engine.ModelError` naming this folder and how to fill it.
    """
    environ = os.environ if environ is None else environ
    configured = environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    root = _checkout_root()
    if root is not None and (root / "models").is_dir():
        return root / "models" / "artifacts"
    return user_data_dir(environ) / "models"


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
