"""SIGKILL at random instants of a many-file apply, at full size (``SITEPATCH_KILL_TRIALS``, default 200)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest
from reliability_kit import kill_trials, make_world

TRIALS = int(os.environ.get("SITEPATCH_KILL_TRIALS", "200"))
REPORT = Path(__file__).resolve().parents[2] / "reports" / "kill.json"


@pytest.mark.slow
def test_every_kill_leaves_the_target_pristine_or_fully_patched_after_the_next_run(tmp_path: Path) -> None:
    world = make_world(tmp_path, files=150, lines=400)
    stats = kill_trials(world, TRIALS, seed=int(os.environ.get("SITEPATCH_KILL_SEED", "5")))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(asdict(stats), indent=2) + "\n")
    print(json.dumps(asdict(stats)))
    assert stats.trials == TRIALS
    assert stats.during > 0, "no kill landed while files were being written; the timing calibration is off"
