"""`make bench` starts under the environment it is given."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_starts_under_the_environment_make_bench_gives_it() -> None:
    # `make bench` runs `python -m bench` under the devstack, which has imported `alt` and so
    # exported DJANGO_SETTINGS_MODULE=alt.settings, with no SECRET_KEY (production settings).
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")}
    env["DJANGO_SETTINGS_MODULE"] = "alt.settings"

    run = subprocess.run(
        [sys.executable, "-m", "bench", "no-such-suite"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "SECRET_KEY" not in run.stderr
    assert run.returncode == 2, run.stderr
    assert "unknown suite 'no-such-suite'" in run.stdout
