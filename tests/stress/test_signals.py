"""SIGTERM and SIGINT at random instants of a many-file apply (``SITEPATCH_SIGNAL_TRIALS``, default 100).

Unlike SIGKILL, these can be caught: the run must leave the target exactly pristine or exactly patched
*before it exits*, with no journal for the next run to recover.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from reliability_kit import TMP_SUFFIX, make_world, tree

TRIALS = int(os.environ.get("SITEPATCH_SIGNAL_TRIALS", "100"))
REPORT = Path(__file__).resolve().parents[2] / "reports" / "signals.json"


@dataclass
class SignalStats:
    trials: int = 0
    pristine: int = 0
    patched: int = 0
    rolled_back: int = 0
    """Runs that reported rolling back (the signal arrived while they were writing)."""
    exit_codes: dict[str, int] | None = None


@pytest.mark.slow
def test_every_sigterm_or_sigint_leaves_the_target_pristine_or_patched_before_exit(tmp_path: Path) -> None:
    world = make_world(tmp_path, files=150, lines=400)
    journal = world.site / ".sitepatch/journal.json"
    rng = random.Random(int(os.environ.get("SITEPATCH_SIGNAL_SEED", "9")))
    # Time one run: when its journal appears (the writing starts), when it goes (the run is done), the end.
    start = time.perf_counter()
    proc = subprocess.Popen(world.command("apply"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opened = closed = 0.0
    while proc.poll() is None:
        now = time.perf_counter() - start
        if not opened and journal.exists():
            opened = now
        elif opened and not closed and not journal.exists():
            closed = now
        time.sleep(0.0005)
    end = time.perf_counter() - start
    opened, closed = opened or end, closed or end
    subprocess.run(world.command("revert"), capture_output=True, check=True)
    stats = SignalStats(exit_codes={})
    for trial in range(TRIALS):
        signum = signal.SIGTERM if trial % 2 == 0 else signal.SIGINT
        # A quarter anywhere from start-up to a little after the end, the rest while the journal exists.
        delay = rng.uniform(0.0, end * 1.1) if trial % 4 == 0 else rng.uniform(opened * 0.95, closed * 1.05)
        proc = subprocess.Popen(world.command("apply"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        assert stats.exit_codes is not None
        key = str(proc.returncode)
        stats.exit_codes[key] = stats.exit_codes.get(key, 0) + 1
        # -2 and -15: the signal came before the interpreter set up its handlers, so nothing had run.
        assert proc.returncode in (0, 130, 143, -signal.SIGTERM, -signal.SIGINT), (trial, proc.returncode, err)
        state = tree(world.site)
        assert not journal.exists(), (trial, delay)
        assert not list(world.site.rglob(f"*{TMP_SUFFIX}")), (trial, delay)
        if state == world.pristine:
            stats.pristine += 1
            stats.rolled_back += b"every file was restored" in err
        else:
            assert state == world.patched, (trial, delay)
            stats.patched += 1
            back = subprocess.run(world.command("revert"), capture_output=True, text=True, check=False)
            assert back.returncode == 0, back.stdout + back.stderr
        assert tree(world.site) == world.pristine
        stats.trials += 1
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(asdict(stats), indent=2) + "\n")
    print(json.dumps(asdict(stats)))
    assert stats.trials == TRIALS
    assert stats.rolled_back > 0, "no signal landed while files were being written; the timing is off"
