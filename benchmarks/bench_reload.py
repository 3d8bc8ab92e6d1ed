"""An editor saving a rule file in place while ``kam serve`` polls it: kam's watcher against the plain poll.

An editor process saves ``routing.yaml`` again and again the way many editors and the shell's
``>`` do (the file is emptied, then written), waiting 8 to 12 polls between saves. The service's
:class:`~engine.serve.ReloadWatcher` (a change is loaded once the files are the same at two polls
in a row) is measured side by side with the plain baseline, a loop that reloads at every poll
that sees a change (kam's rule before). The loader reads the file and fails on an empty one, as
a rule file that does not parse fails a reload. Printed per watcher, for the same saves:

- saves whose content was loaded, and failed reloads (an empty file read) and extra reloads
  (a content loaded twice) - both should be 0;
- the delay from the end of a save to the load of its content: median and p90, in ms and polls.

    python benchmarks/bench_reload.py                       # 5 ms poll, 500 saves
    python benchmarks/bench_reload.py --poll 0.2 --saves 100

The load average before and after is printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class _Loads:
    """The loader: reads the rule file, fails on an empty one, and records what it loaded when."""

    def __init__(self, path: Path):
        self.path = path
        self.loaded: list[tuple[float, str]] = []

    def __call__(self) -> str:
        text = self.path.read_text()
        if not text.strip():
            raise ValueError(f"{self.path.name}: empty, not a rule file")
        self.loaded.append((time.monotonic(), text))
        return text


def _plain_poll(holder, poll: float, stop: threading.Event) -> None:
    """The baseline: reload at every poll that sees a change."""
    while not stop.wait(poll):
        if holder.changed():
            holder.reload("rule files changed")


def _measure(kind: str, poll: float, saves: int, lines: int, seed: int, work: Path) -> dict:
    """Run the editor against one watcher; the counts and delays."""
    from engine.serve import ReloadWatcher, SnapshotHolder

    folder = work / kind
    folder.mkdir()
    rules = folder / "routing.yaml"
    source = work / f"{kind}.source"
    body = "rules: []\n" * lines
    rules.write_text(body + "# start\n")
    loads = _Loads(rules)
    holder = SnapshotHolder(loads, [folder])
    holder.start()
    stop = threading.Event()
    if kind == "kam":
        watcher = ReloadWatcher(holder, poll).start()
    else:
        thread = threading.Thread(target=_plain_poll, args=(holder, poll, stop), daemon=True)
        thread.start()
    rng = random.Random(seed)
    saved: list[tuple[float, str]] = []
    try:
        for i in range(saves):
            text = body + f"# {i}\n"
            source.write_text(text)
            subprocess.run(["sh", "-c", f'cat "{source}" > "{rules}"'], check=True, timeout=30)
            saved.append((time.monotonic(), text))
            time.sleep(rng.uniform(8 * poll, 12 * poll))
        time.sleep(4 * poll)
    finally:
        if kind == "kam":
            watcher.stop()
        else:
            stop.set()
            thread.join(30)
    first_load: dict[str, float] = {}
    counts: dict[str, int] = {}
    for at, text in loads.loaded[1:]:  # [0] is the start
        first_load.setdefault(text, at)
        counts[text] = counts.get(text, 0) + 1
    delays = np.array([first_load[text] - at for at, text in saved if text in first_load])
    return {
        "loaded": len(delays),
        "failed": holder.failed_reloads,
        "extra": sum(n - 1 for n in counts.values()),
        "delays": delays,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between polls (the service's default is 2)")
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--lines", type=int, default=200, help="lines of the rule file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("kam").setLevel(logging.CRITICAL)  # each failed reload is counted, not logged
    if args.poll <= 0 or args.saves < 1:
        parser.error(f"expected --poll > 0 and --saves >= 1; got {args.poll} and {args.saves}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"an editor process saves routing.yaml in place {args.saves} times, 8-12 polls apart; poll {args.poll:g} s")
    with tempfile.TemporaryDirectory(prefix="kam-bench-reload-") as work:
        for kind, what in (("plain", "plain poll (reload at every change seen)"),
                           ("kam", "kam's ReloadWatcher (same at two polls in a row)")):
            got = _measure(kind, args.poll, args.saves, args.lines, args.seed, Path(work))
            delays = got["delays"]
            timing = (f"delay save -> load median {np.median(delays) * 1000:.1f} ms "
                      f"({np.median(delays) / args.poll:.1f} polls), p90 {np.quantile(delays, 0.9) * 1000:.1f} ms"
                      if len(delays) else "no save loaded")
            print(f"{what:50s} saves loaded {got['loaded']}/{args.saves}  failed reloads {got['failed']}  "
                  f"extra reloads {got['extra']}  {timing}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
