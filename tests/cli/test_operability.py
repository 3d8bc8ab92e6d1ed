"""Regression tests for issue 11 (operability): each test is named after the symptom it guards."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.storage import Database

AS_OF = "2026-10-01"


def kam_command() -> list[str]:
    """``python -m engine``: the kam command of this checkout (PYTHONPATH from the kam_env fixture)."""
    return [sys.executable, "-m", "engine"]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _sql(path: Path, statement: str) -> list[tuple]:
    """Run one statement with the sqlite3 module and close the connection at once.

    A connection left open in this process while kam writes through ADBC (its own copy of SQLite)
    would break SQLite's locking (see docs/results.md).
    """
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(statement).fetchall()
    finally:
        conn.close()


def _runs(path: Path) -> list[tuple]:
    return _sql(path, "SELECT run_id, finished_at FROM runs ORDER BY run_id")


# --- open the database for what the command does ---------------------------------------------------
@pytest.mark.parametrize("command", [
    ["score", "--models", "MODELS"],
    ["validate"],
    ["train", "churn"],
    ["rules", "diff", "rules/tiers.yaml", "rules/tiers.yaml"],
    ["runs"],
    ["show", "account", "A0000001"],
    ["alerts", "evaluate"],
    ["alerts", "list"],
    ["alerts", "send", "--channel", "stdout"],
    ["alerts", "ack", "A0000001:churn_risk"],
    ["alerts", "backtest"],
    ["plan"],
    ["plan", "--dry-run"],
    ["report", "--out", "OUT"],
])
def test_mistyped_sqlite_path_exits_5_and_creates_no_file(command, scored, tmp_path, capsys, monkeypatch):
    _, models = scored
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    missing = tmp_path / "sub" / "nosuch.sqlite"
    swap = {"MODELS": str(models), "OUT": str(tmp_path / "report.html")}
    args = [swap.get(a, a) for a in command] + ["--db", str(missing)]
    assert main(args) == 5
    err = capsys.readouterr().err
    assert "nosuch.sqlite" in err and "does not exist" in err and "kam demo-db" in err
    assert not missing.exists() and not missing.parent.exists()
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("command", [["alerts", "list", "--json"], ["plan", "--dry-run", "--json"], ["report", "--out", "OUT"]])
def test_feature_commands_take_the_database_from_kam_db_url(command, scored_copy, tmp_path, monkeypatch, capsys):
    path, _ = scored_copy
    monkeypatch.setenv("KAM_DB_URL", str(path))
    out = tmp_path / "report.html"
    assert main([str(out) if a == "OUT" else a for a in command]) == 0
    assert "no database given" not in capsys.readouterr().err
    if "report" in command:
        assert out.stat().st_size > 10_000


def test_mode_ro_in_sqlite_url_is_honoured_and_nothing_is_written(scored_copy, capsys):
    path, models = scored_copy
    before = _runs(path)
    code = main(["score", "--db", f"sqlite:///{path}?mode=ro", "--models", str(models), "--as-of", "2026-10-02"])
    assert code == 5
    assert "read-only" in capsys.readouterr().err
    assert _runs(path) == before


def test_dry_run_opens_read_only_and_writes_nothing(scored_copy, capsys):
    path, models = scored_copy
    before = _runs(path)
    assert main(["score", "--db", str(path), "--models", str(models), "--as-of", "2026-10-02", "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert _runs(path) == before


def test_schemeless_url_with_password_creates_no_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--db", "kam:Pa55word@db.internal/sales"]) == 3
    captured = capsys.readouterr()
    assert "postgresql://" in captured.err and "Pa55word" not in captured.err + captured.out
    assert list(tmp_path.iterdir()) == []


# --- run health --------------------------------------------------------------------------------------
def test_missing_contract_table_exits_4_and_keeps_previous_results(scored_copy, capsys):
    path, models = scored_copy
    before = _runs(path)
    _sql(path, "DROP TABLE tickets")
    assert main(["score", "--db", str(path), "--models", str(models), "--as-of", "2026-10-02"]) == 4
    assert "tickets" in capsys.readouterr().err
    assert _runs(path) == before


def test_mostly_quarantined_run_fails_with_max_quarantined_and_keeps_previous_results(scored_copy, capsys):
    path, models = scored_copy
    before = _runs(path)
    _sql(path, "UPDATE orders SET amount = -1 WHERE rowid % 10 = 0")  # one order in ten gets a negative amount
    assert main(["score", "--db", str(path), "--models", str(models), "--as-of", "2026-10-02"]) == 4
    err = capsys.readouterr().err
    assert "orders" in err and "--max-quarantined" in err and "previous results are intact" in err
    assert _runs(path) == before
    # the operator may accept it explicitly
    assert main(["score", "--db", str(path), "--models", str(models), "--as-of", "2026-10-02",
                 "--max-quarantined", "0.5"]) == 0
    assert len(_runs(path)) == len(before) + 1


def test_max_quarantined_comes_from_the_environment(scored_copy, monkeypatch, capsys):
    path, models = scored_copy
    _sql(path, "UPDATE orders SET amount = -1 WHERE rowid % 10 = 0")
    monkeypatch.setenv("KAM_SCORE_MAX_QUARANTINED", "0.5")
    assert main(["score", "--db", str(path), "--models", str(models), "--as-of", "2026-10-02"]) == 0


def test_score_without_as_of_uses_the_day_after_the_newest_data_and_warns_when_stale(scored_copy, capsys):
    path, models = scored_copy
    assert main(["score", "--db", str(path), "--models", str(models), "--dry-run", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["as_of"] == "2026-10-01"  # the demo data ends on 2026-09-30
    assert "warning: the newest event in the data is from 2026-09-30" in captured.err


def test_an_explicit_as_of_weeks_after_the_newest_data_warns(scored, capsys):
    path, _ = scored
    assert main(["validate", "--db", str(path), "--as-of", "2026-12-31"]) == 0
    assert "warning: the as-of date 2026-12-31 is 92 days after the newest event" in capsys.readouterr().err


def test_rules_diff_and_score_share_the_default_as_of(scored, capsys, monkeypatch):
    path, _ = scored
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(["rules", "diff", "rules/tiers.yaml", "rules/tiers.yaml", "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-10-01"


# --- configuration -----------------------------------------------------------------------------------
def test_db_falls_back_to_kam_db_url(scored, monkeypatch, capsys):
    path, _ = scored
    monkeypatch.setenv("KAM_DB_URL", str(path))
    assert main(["validate", "--as-of", AS_OF]) == 0


def test_db_from_config_file(scored, tmp_path, capsys):
    path, _ = scored
    config = tmp_path / "kam.toml"
    config.write_text(f'[database]\nurl = "{path}"\n')
    assert main(["--config", str(config), "runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["accounts_scored"] == 600


def test_no_database_anywhere_is_a_usage_error(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAM_DB_URL", raising=False)
    assert main(["validate"]) == 2
    assert "KAM_DB_URL" in capsys.readouterr().err


def test_kam_config_shows_sources_and_masks_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kam.toml").write_text('[log]\nlevel = "INFO"\n')
    monkeypatch.setenv("KAM_DB_PASSWORD", "Sup3rSecret")
    monkeypatch.setenv("KAM_DB_URL", "postgresql://kam:Other5ecret@db/sales")
    assert main(["--log-format", "json", "config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "Sup3rSecret" not in out and "Other5ecret" not in out
    rows = {row["name"]: row for row in json.loads(out)["settings"]}
    assert rows["log.level"]["source"] == "file" and rows["log.level"]["value"] == "INFO"
    assert rows["log.format"]["source"] == "flag"
    assert rows["database.password"]["source"] == "env" and rows["database.password"]["value"] == "***"


def test_kam_db_password_goes_into_a_url_without_one(monkeypatch):
    from engine._config import load_config
    from engine.cli._context import CliState, resolve_database_url
    monkeypatch.setenv("KAM_DB_PASSWORD", "pw-from-env")
    cli_state = CliState(load_config(cwd="/nonexistent"))
    url = resolve_database_url("postgresql://kam@db.internal/sales", cli_state)
    assert url.password == "pw-from-env"
    assert "pw-from-env" not in str(url)  # rendered masked
    assert "pw-from-env" in cli_state.secrets


@pytest.mark.timeout(900)  # every command once, end to end: more than the suite's 300 s on a slow machine
def test_secrets_never_printed_end_to_end_through_the_cli(kam_env, tmp_path):
    """Try to defeat the filter: every credential form, DEBUG JSON logs, a failing connection."""
    secret = "Zq9-very+secret"
    encoded = "Zq9-very%2Bsecret"
    attempts = [
        (["--db", f"postgresql://kam:{encoded}@127.0.0.1:1/sales"], {}),
        (["--db", f"postgresql://kam@127.0.0.1:1/sales?password={encoded}"], {}),
        ([], {"KAM_DB_URL": "postgresql://kam@127.0.0.1:1/sales", "KAM_DB_PASSWORD": secret}),
        ([], {"KAM_DB_URL": f"postgresql://kam:{encoded}@127.0.0.1:1/sales"}),
    ]
    for args, extra in attempts:
        env = {**kam_env, **extra}
        for command in (["validate"], ["score", "--models", str(tmp_path)], ["runs"]):
            done = subprocess.run(
                kam_command() + ["--log-level", "DEBUG", "--log-format", "json", *command, *args],
                env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
            )
            seen = done.stdout + done.stderr
            assert done.returncode in (5, 6), seen
            assert secret not in seen and encoded not in seen, (args, extra, command, seen)


def test_password_in_db_flag_is_warned_about(capsys):
    main(["validate", "--db", "postgresql://kam:hunter2x@127.0.0.1:1/sales"])
    err = capsys.readouterr().err
    assert "warning: the --db URL holds a password" in err and "KAM_DB_PASSWORD" in err
    assert "hunter2x" not in err


# --- CLI correctness ---------------------------------------------------------------------------------
def test_train_kind_typo_is_a_usage_error_with_did_you_mean(capsys):
    assert main(["train", "chrun", "--db", "x.sqlite"]) == 2
    assert "did you mean 'churn'?" in capsys.readouterr().err


def test_backend_is_a_choice(capsys):
    assert main(["score", "--db", "x.sqlite", "--backend", "dsak"]) == 2
    assert "did you mean 'dask'?" in capsys.readouterr().err


def test_log_level_is_a_choice(capsys):
    assert main(["--log-level", "verbose", "config"]) == 2
    assert "DEBUG" in capsys.readouterr().err


def test_shell_completion_is_on(capsys):
    assert main(["--help"]) == 0
    assert "--install-completion" in capsys.readouterr().out


@pytest.mark.parametrize("url, package", [
    ("mysql://kam:pw@localhost/sales", "pip install mysqlclient"),
    ("mysql+pymysql://kam:pw@localhost/sales", "pip install PyMySQL"),
    ("mssql+pyodbc://kam:pw@localhost/sales", "pip install pyodbc"),
    ("oracle+oracledb://kam:pw@localhost/sales", "pip install oracledb"),
    ("postgresql+psycopg2://kam:pw@localhost/sales", "pip install psycopg2-binary"),
    ("postgresql+asyncpg://kam:pw@localhost/sales", "pip install asyncpg"),
])
def test_every_missing_driver_exits_7_with_its_pip_line(url, package, capsys):
    module = {"mysqlclient": "MySQLdb", "PyMySQL": "pymysql", "pyodbc": "pyodbc", "oracledb": "oracledb",
              "psycopg2-binary": "psycopg2", "asyncpg": "asyncpg"}[package.split()[-1]]
    try:
        __import__(module)
        pytest.skip(f"{module} is installed here")
    except ImportError:
        pass
    assert main(["validate", "--db", url]) == 7
    err = capsys.readouterr().err
    assert package in err and ":pw@" not in err


def test_unknown_database_kind_is_a_config_error(capsys):
    assert main(["validate", "--db", "nosuchdb://kam@localhost/sales"]) == 3
    assert "nosuchdb" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["score", "--as-of", "2026-10-02", "--json"], ["score", "--as-of", "2026-10-02"],
                                     ["runs"]])
def test_broken_pipe_exits_0_quietly(command, scored_copy, kam_env):
    """``kam score ... | head -1``: the reader is gone before kam writes; not an error."""
    path, models = scored_copy
    extra = ["--models", str(models)] if command[0] == "score" else []
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already closed: the first write fails with EPIPE
    try:
        process = subprocess.Popen(kam_command() + command + ["--db", str(path), *extra],
                                   env=kam_env, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr


def _wait_for(stream, text: str, timeout: float = 120) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} never appeared in: {''.join(seen)}")


@pytest.mark.parametrize("signal_number, code, said", [
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_stop_signals_exit_cleanly_with_previous_results_intact(signal_number, code, said, scored_copy, kam_env):
    path, models = scored_copy
    before = _runs(path)
    process = subprocess.Popen(
        kam_command() + ["--log-level", "INFO", "score", "--db", str(path), "--models", str(models),
                         "--as-of", "2026-10-02"],
        env=kam_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    seen = _wait_for(process.stderr, "reading and validating")
    process.send_signal(signal_number)
    stderr = seen + process.communicate(timeout=120)[1]
    assert process.returncode == code, stderr
    assert said in stderr and "Traceback" not in stderr
    assert _runs(path) == before


def test_interrupt_reported_by_the_driver_as_its_own_error_still_exits_130(scored, monkeypatch, capsys):
    """ADBC turns Ctrl-C during a statement into NOT_IMPLEMENTED (cancel unsupported): still 130."""
    import engine.pipeline
    from engine._errors import StorageError

    def interrupted_write(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt as exc:
            raise StorageError("could not write results: NOT_IMPLEMENTED: cancel") from exc

    monkeypatch.setattr(engine.pipeline, "score", interrupted_write)
    assert main(["score", "--db", str(scored[0])]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "NOT_IMPLEMENTED" not in err


def _pty_output(argv: list[str], env: dict, cwd: Path) -> str:
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(argv, env={**env, "TERM": "xterm-256color"}, stdout=slave, stderr=slave,
                               stdin=subprocess.DEVNULL, cwd=cwd)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=120)
    os.close(master)
    return ANSI.sub("", b"".join(chunks).decode(errors="replace"))


def test_rules_diff_markup_never_leaks_in_a_pty_or_a_pipe(scored, kam_env, tmp_path):
    path, _ = scored
    root = Path(__file__).resolve().parents[2]
    changed = tmp_path / "tiers [copy].yaml"  # brackets in a file name must not be read as markup either
    changed.write_text((root / "rules" / "tiers.yaml").read_text().replace(
        "field_min_revenue_12m: 2000000", "field_min_revenue_12m: 1500000"))
    argv = kam_command() + ["rules", "diff", str(root / "rules" / "tiers.yaml"), str(changed), "--db", str(path),
                            "--as-of", AS_OF]
    piped = subprocess.run(argv, env=kam_env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    for text in (piped.stdout, _pty_output(argv, kam_env, tmp_path)):
        assert "tiers what-if as of 2026-10-01" in text
        assert "tiers [copy].yaml" in text
        assert re.search(r"\d+ of 600 accounts change tier", text), text
        assert "[bold]" not in text and "[/]" not in text


def test_python_m_engine_works_like_kam(kam_env):
    done = subprocess.run(kam_command() + ["--version"], env=kam_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("kam ")


# --- logging -----------------------------------------------------------------------------------------
def test_score_logs_every_stage_with_counts_as_json(scored_copy, capsys):
    path, models = scored_copy
    assert main(["--log-level", "INFO", "--log-format", "json", "score", "--db", str(path), "--models", str(models),
                 "--as-of", "2026-10-02"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    messages = " | ".join(r["message"] for r in records)
    assert {r["level"] for r in records} >= {"INFO"}
    for expected in ("scoring", "read ", "rows from", "tiers decided for 600 accounts", "routes decided",
                     "scoring: priority: done in", "writing results: done in", "wrote 600 account scores"):
        assert expected in messages, expected


def test_validate_logs_what_it_read(scored, capsys):
    path, _ = scored
    assert main(["--log-level", "INFO", "validate", "--db", str(path), "--as-of", AS_OF]) == 0
    err = capsys.readouterr().err
    assert "INFO kam.cli: validated" in err and "0 quarantined" in err
    assert re.search(r"INFO kam.progress: validating sqlite file .* done in", err)


@pytest.mark.parametrize("command, shown", [
    (["demo-db", "{tmp}/tiny.sqlite", "--accounts", "60"], "creating the demo database (60 accounts)"),
    (["validate", "--db", "{db}", "--as-of", AS_OF], "validating sqlite file"),
    (["score", "--db", "{copy}", "--models", "{models}", "--as-of", "2026-10-02"], "scoring: priority"),
])
def test_progress_is_shown_on_a_terminal_for_every_command(command, shown, scored, scored_copy, kam_env, tmp_path):
    values = {"tmp": str(tmp_path), "db": str(scored[0]), "copy": str(scored_copy[0]), "models": str(scored[1])}
    text = _pty_output(kam_command() + [part.format(**values) for part in command], kam_env, tmp_path)
    assert shown in text, text


# --- results people can use --------------------------------------------------------------------------
def test_kam_runs_lists_runs_newest_first(scored, capsys):
    path, _ = scored
    assert main(["runs", "--db", str(path)]) == 0
    assert "2026-10-01" in capsys.readouterr().out
    assert main(["runs", "--db", str(path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert runs[0]["accounts_scored"] == 600 and isinstance(runs[0]["tier_counts"], dict)


def test_kam_show_account_gives_latest_scores_and_reasons(scored, capsys):
    path, _ = scored
    with Database(path, readonly=True) as db:
        scores = db.read_results("account_scores")
    riskiest = scores.sort_values("value_at_risk", ascending=False).iloc[0]
    assert main(["show", "account", riskiest["account_id"], "--db", str(path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["account"]["account_id"] == riskiest["account_id"]
    assert record["account"]["tier"] == riskiest["tier"]
    assert record["top_reasons"] == json.loads(riskiest["top_reasons"])
    assert main(["show", "account", riskiest["account_id"], "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"tier {riskiest['tier']}" in out and record["top_reasons"][0] in out


def test_an_account_read_while_its_run_is_rerun_comes_from_one_version(scored_copy, monkeypatch):
    """A re-run of the run id commits between ``account_record``'s reads: it reads the re-run's rows and row."""
    import pandas as pd

    from engine.results import account_record

    path, _ = scored_copy
    db = Database(path)
    real = db.read_results
    run_id = db.latest_run_id()
    account = str(real("account_scores", run_id)["account_id"].iloc[0])
    rewritten = []

    def read_results(name, run_id=None, **options):
        frame = real(name, run_id, **options)
        if name == "account_scores" and not rewritten:  # the re-run commits right after the scores were read
            rewritten.append(name)
            db.write_run(run_id, {"runs": real("runs", run_id).assign(as_of="2030-01-01",
                                                                      started_at=pd.Timestamp("2030-01-01")),
                                  "account_scores": real("account_scores", run_id).assign(name="re-run")})
        return frame

    monkeypatch.setattr(db, "read_results", read_results)
    try:
        record = account_record(db, account)
    finally:
        db.dispose()
    assert rewritten
    assert record["account"]["name"] == "re-run" and record["run"]["as_of"] == "2030-01-01"


def test_kam_show_account_lists_its_unresolved_alerts_from_a_read_only_database(scored_copy, capsys):
    path, _ = scored_copy
    assert main(["alerts", "evaluate", "--db", str(path), "--json"]) == 0
    capsys.readouterr()
    from engine.storage import AlertStore

    with Database(path, readonly=True) as db:
        alerts = AlertStore(db).read("alerts")
    live = alerts[alerts["state"] != "resolved"]
    assert not live.empty, "the demo run should raise at least one alert"
    account = str(live["account_id"].iloc[0])
    assert main(["show", "account", account, "--db", f"sqlite:///{path}?mode=ro", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert {a["alert_key"] for a in record["alerts"]} == set(live.loc[live["account_id"] == account, "alert_key"])
    assert main(["show", "account", account, "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "alert " in out and "Recommended:" in out


def test_kam_show_unknown_account_is_a_usage_error(scored, capsys):
    path, _ = scored
    assert main(["show", "account", "NO-SUCH", "--db", str(path)]) == 2
    assert "NO-SUCH" in capsys.readouterr().err
