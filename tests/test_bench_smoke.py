"""The benchmark code runs and every case's correctness check passes.

``bench/run.py --quick`` is run in a subprocess (a few very short rounds, one fresh
interpreter per import case: a few seconds).  Nothing here asserts a timing: the numbers
SPEC §12 holds vein to are measured by ``just bench``, never by tests.  What is asserted is
that each case was built and checked (listeners fire exactly once per write, validators
reject, every loader gives the expected values) -- so the comparisons the benchmark prints
are like for like.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"

pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--json", str(out)],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a performance assertion (a quick run takes seconds)
    )
    data = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return proc, data


def test_quick_run_completes(quick_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    proc, data = quick_run
    assert data, f"no JSON written\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "SPEC §12 targets" in proc.stdout
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def test_every_case_checked(quick_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    _proc, data = quick_run
    cases = data["cases"]
    # every group produced its cases
    for prefix in ("read", "write", "silent", "nested", "construct", "env", "envflat", "yaml", "merge"):
        assert any(k.split(".")[0] == prefix for k in cases), f"no {prefix} cases"
    bad = {k: c["check"] for k, c in cases.items() if c["check"] not in ("ok", "skipped")}
    assert not bad, bad
    # vein's own cases are never skipped, and each was timed
    for key, case in cases.items():
        if ".vein" in key or key.startswith(("nested.", "read.attrs", "construct.")):
            assert case["check"] == "ok", (key, case)
            assert case["seconds_per_op"] is not None, key
    imports = data["imports"]
    assert {item["check"] for item in imports.values()} == {"ok"}, imports
    assert not imports["import.vein"]["yaml_imported"]
    assert not imports["import.vein"]["boto3_imported"]


def test_targets_reported(quick_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    _proc, data = quick_run
    statuses = {t["name"]: t["status"] for t in data["targets"]}
    assert len(statuses) >= 14
    # a status for each target (PASS or MISS); n/a only where a peer is not installed
    skipped = {k for k, c in data["cases"].items() if c["check"] == "skipped"}
    if not skipped:
        assert "n/a" not in statuses.values(), statuses
