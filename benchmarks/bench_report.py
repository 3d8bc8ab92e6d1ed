"""Time the run report and measure its file size on scored databases of any size.

Targets (issue 12): a 1,000,000-account run reported in under 30 s, in a file under 5 MB.

    python benchmarks/bench_report.py kam-demo.sqlite --models kam-demo-models
    python benchmarks/bench_report.py demo-20k.sqlite demo-1m.sqlite --models demo-20k-models --repeat 3

Each database must hold scoring runs (``kam demo`` makes one; for a million accounts:
``kam demo-db demo-1m.sqlite --accounts 1000000`` then ``kam score --db demo-1m.sqlite --models
DIR --as-of 2026-10-01``, with models trained on a smaller demo). The report of the newest run,
compared with the run before it when there is one, is generated ``--repeat`` times in this
process; the script prints the median of each phase (reading the run, computing the numbers,
drawing and rendering) and of the whole, the file size, and, as the plain baseline measured in
the same run, the time ``pandas.read_sql`` takes (once) just to read the run's ``account_scores`` rows
(every column) through SQLAlchemy, which is what a hand-written report would start from. The
load average is printed with the figures: on a shared machine they are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _baseline_seconds(path: Path, run_id: str) -> float:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    with engine.connect() as conn:
        frame = pd.read_sql(sqlalchemy.text('SELECT * FROM account_scores WHERE run_id = :r'), conn, params={"r": run_id})
    seconds = time.perf_counter() - started
    engine.dispose()
    del frame
    return seconds


def bench(path: Path, models: Path | None, repeat: int, out_dir: Path) -> dict:
    from engine.report import read_inputs, render_report, report_numbers
    from engine.storage import Database

    phases: dict[str, list[float]] = {"read": [], "numbers": [], "render": [], "total": []}
    size = accounts = 0
    run_id = ""
    out = out_dir / f"{path.stem}-report.html"
    for _ in range(repeat):
        started = time.perf_counter()
        db = Database(path)
        try:
            inputs = read_inputs(db, artifacts_dir=models)
        finally:
            db.dispose()
        read = time.perf_counter()
        numbers = report_numbers(inputs)
        computed = time.perf_counter()
        html = render_report(numbers)
        out.write_text(html, encoding="utf-8")
        done = time.perf_counter()
        phases["read"].append(read - started)
        phases["numbers"].append(computed - read)
        phases["render"].append(done - computed)
        phases["total"].append(done - started)
        size = out.stat().st_size
        accounts = len(inputs.current.accounts)
        run_id = inputs.current.run_id
        del inputs, numbers, html
    baseline = _baseline_seconds(path, run_id)  # once: at a million rows it is the slow part
    return {"db": path.name, "accounts": accounts, "size": size, "baseline": baseline,
            **{k: statistics.median(v) for k, v in phases.items()}, "out": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("databases", nargs="+", type=Path, help="scored SQLite databases")
    parser.add_argument("--models", type=Path, help="folder of the model cards")
    parser.add_argument("--repeat", type=int, default=3, help="reports per database (medians are printed)")
    parser.add_argument("--out", type=Path, help="folder for the reports (default: a temporary folder)")
    args = parser.parse_args()
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="kam-bench-report-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    # Import matplotlib and the report once before timing: a report in a fresh process pays
    # it once (about 0.5 s), which the first repeat would otherwise include.
    import matplotlib.figure  # noqa: F401

    import engine.report._charts  # noqa: F401

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'database':<22} {'accounts':>10} {'read s':>8} {'numbers s':>10} {'render s':>9} {'total s':>8} "
          f"{'size MB':>8} {'baseline s':>11} {'total/baseline':>15}")
    for path in args.databases:
        row = bench(path, args.models, args.repeat, out_dir)
        print(f"{row['db']:<22} {row['accounts']:>10,} {row['read']:>8.2f} {row['numbers']:>10.2f} "
              f"{row['render']:>9.2f} {row['total']:>8.2f} {row['size'] / 1e6:>8.2f} {row['baseline']:>11.2f} "
              f"{row['total'] / row['baseline']:>15.2f}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; reports in {out_dir}")
    print("targets: 1,000,000 accounts in < 30 s, file < 5 MB (medians of --repeat runs; baseline = "
          "pandas.read_sql of the run's account_scores alone)")


if __name__ == "__main__":
    main()
