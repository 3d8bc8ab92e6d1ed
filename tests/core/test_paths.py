"""The default folders: a checkout keeps its own; an installed kam uses the user's data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine._paths import MODELS_DIR_ENV, default_artifacts_dir, default_models_dir, user_data_dir

REPO = Path(engine.__file__).resolve().parent.parent


def _installed_copy(tmp_path: Path) -> Path:
    """A site-packages folder laid out as the wheel installs kam (package data under engine/_data)."""
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "engine", site / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "rules", site / "engine" / "_data" / "rules")
    (site / "engine" / "_data" / "models").mkdir()
    for spec in ("churn.yaml", "win.yaml"):
        shutil.copy(REPO / "models" / spec, site / "engine" / "_data" / "models" / spec)
    (site / "models").mkdir()  # another distribution's top-level folder: not kam's
    return site


def _run_installed(site: Path, code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in (MODELS_DIR_ENV, "PYTHONPATH", "XDG_DATA_HOME")}
    environ.update(PYTHONPATH=str(site), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environ, capture_output=True,
                          text=True, timeout=120, start_new_session=True)


def test_a_checkout_keeps_its_models_in_models_artifacts():
    assert (REPO / "pyproject.toml").is_file()
    assert default_artifacts_dir({}) == REPO / "models" / "artifacts" == default_models_dir() / "artifacts"


def test_kam_models_dir_comes_first(tmp_path):
    assert default_artifacts_dir({MODELS_DIR_ENV: str(tmp_path)}) == tmp_path
    assert default_artifacts_dir({MODELS_DIR_ENV: "~/kam-models"}) == Path.home() / "kam-models"


def test_an_installed_kam_publishes_to_the_user_data_folder_not_into_the_package(tmp_path):
    site = _installed_copy(tmp_path)
    code = ("from engine._paths import default_artifacts_dir, default_rules_dir, default_models_dir\n"
            "print(default_artifacts_dir()); print(default_rules_dir()); print(default_models_dir())")
    done = _run_installed(site, code, tmp_path, XDG_DATA_HOME=str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    artifacts, rules, models = (Path(line) for line in done.stdout.split())
    assert artifacts == tmp_path / "data" / "kam" / "models"
    assert rules == site / "engine" / "_data" / "rules" and models == site / "engine" / "_data" / "models"
    assert site not in artifacts.parents


def test_an_installed_kam_with_nothing_published_names_the_folder_and_the_fix(tmp_path):
    site = _installed_copy(tmp_path)
    code = ("import warnings, engine\nwarnings.simplefilter('ignore')\n"
            "try:\n    engine.score_frame({}, as_of='2025-01-31')\n"
            "except engine.ModelError as error:\n    print(error)\nelse:\n    raise SystemExit('scored')")
    done = _run_installed(site, code, tmp_path, XDG_DATA_HOME=str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "data" / "kam" / "models"
    assert f"expected a trained churn model at {folder / 'churn.joblib'}" in done.stdout
    assert f"--artifacts {folder}" in done.stdout and "KAM_MODELS_DIR" in done.stdout


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {"XDG_DATA_HOME": "/srv/alice"}, Path("/srv/alice/kam")),
        ("linux", {}, Path.home() / ".local" / "share" / "kam"),
        ("linux", {"XDG_DATA_HOME": "relative/ignored"}, Path.home() / ".local" / "share" / "kam"),
        ("darwin", {"XDG_DATA_HOME": "/srv/alice"}, Path.home() / "Library" / "Application Support" / "kam"),
        ("win32", {"LOCALAPPDATA": "/c/Users/alice/AppData/Local"}, Path("/c/Users/alice/AppData/Local/kam")),
    ],
)
def test_the_user_data_folder_follows_the_platform_convention(platform, environ, expected):
    assert user_data_dir(environ, platform=platform) == expected
