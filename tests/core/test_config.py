"""engine._config: file < environment < flags, validated once, secrets never from flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine._config import SETTINGS, load_config
from engine._errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_precedence_file_then_env_then_flag(tmp_path):
    (tmp_path / "kam.toml").write_text('[log]\nlevel = "DEBUG"\nformat = "json"\n[database]\nurl = "file.sqlite"\n')
    cfg = load_config(cwd=tmp_path, environ={"KAM_LOG_LEVEL": "error"}, overrides={"database.url": "flag.sqlite"})
    assert (cfg.get("log.format"), cfg.source("log.format")) == ("json", "file")
    assert (cfg.get("log.level"), cfg.source("log.level")) == ("ERROR", "env")
    assert (cfg.get("database.url"), cfg.source("database.url")) == ("flag.sqlite", "flag")
    assert cfg.file == tmp_path / "kam.toml"


def test_defaults_without_any_source(tmp_path):
    cfg = load_config(cwd=tmp_path, environ={})
    assert cfg.get("log.level") == "WARNING" and cfg.source("log.level") == "default"
    assert cfg.file is None


def test_unknown_setting_in_file_suggests_the_name(tmp_path):
    path = tmp_path / "kam.toml"
    path.write_text('[log]\nlevl = "INFO"\n')
    with pytest.raises(ConfigError, match=r"unknown setting 'log.levl'; did you mean 'log.level'\?"):
        load_config(path, environ={})


def test_toml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "kam.toml"
    path.write_text('[log]\nlevel = "INFO\n')
    with pytest.raises(ConfigError, match=r"kam.toml.*not valid TOML.*line 2"):
        load_config(path, environ={})


def test_missing_named_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="environment variable KAM_LOG_FORMAT: log.format must be one of text, json"):
        load_config(cwd=tmp_path, environ={"KAM_LOG_FORMAT": "xml"})


def test_secret_refused_as_flag_and_masked_in_describe(tmp_path):
    with pytest.raises(ConfigError, match="KAM_DB_PASSWORD"):
        load_config(cwd=tmp_path, environ={}, overrides={"database.password": "pw"})
    cfg = load_config(cwd=tmp_path, environ={"KAM_DB_PASSWORD": "hunter22", "KAM_DB_URL": "postgresql://a:other99@h/d"})
    assert set(cfg.secrets()) == {"hunter22", "other99"}
    shown = repr(cfg.describe())
    assert "hunter22" not in shown and "other99" not in shown


@given(st.text(max_size=40))
def test_any_environment_text_is_accepted_or_refused_with_config_error(raw):
    for name in ("KAM_LOG_LEVEL", "KAM_LOG_FORMAT", "KAM_MODELS_DIR"):
        try:
            load_config(cwd="/nonexistent", environ={name: raw})
        except ConfigError as exc:
            assert name in str(exc)


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for setting in SETTINGS:
        row = re.search(rf"^\|\s*`{re.escape(setting.name)}`\s*\|\s*`{setting.env_var}`\s*\|", doc, re.MULTILINE)
        assert row, f"docs/configuration.md has no row for {setting.name} ({setting.env_var})"
