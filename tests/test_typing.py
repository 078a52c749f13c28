"""Static typing: ``mypy --strict`` on the package and on the typed-usage files in ``typings/``.

* ``typings/accept/*.py`` must type-check with no error at all;
* every ``typings/reject/*.py`` must give exactly the errors its ``# E: <code> [<code>...]``
  comments announce, on exactly those lines (and no other);
* ``vein/`` itself is clean under ``--strict``.

The files are only type-checked, never run.  mypy runs in a subprocess with a cache shared by
every run (in the system temp directory), which keeps the whole module to a few seconds once
the cache is warm.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is a dev dependency")

ROOT = Path(__file__).resolve().parent.parent
TYPINGS = ROOT / "typings"
ACCEPT = TYPINGS / "accept"
REJECT_FILES = sorted((TYPINGS / "reject").glob("*.py"))
CACHE_DIR = Path(tempfile.gettempdir()) / "vein-mypy-cache"
TIMEOUT = 80  # seconds for one mypy run; a cold cache needs well under half of it

ERROR = re.compile(
    r"^(?P<file>[^\n]+?):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
MARKER = re.compile(r"#\s*E:\s*(?P<codes>[a-z0-9-]+(?:[\s,]+[a-z0-9-]+)*)\s*$")


def run_mypy(*args: str, follow_imports: str = "normal") -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--cache-dir",
        str(CACHE_DIR),
        "--follow-imports",
        follow_imports,
        "--no-pretty",
        "--no-color-output",
        "--no-error-summary",
        "--hide-error-context",
        "--show-error-codes",
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYPY")}
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False
    )


def errors_of(output: str) -> list[tuple[str, int, str, str]]:
    """``(file, line, code, message)`` for every error line of mypy's output."""
    found = []
    for line in output.splitlines():
        m = ERROR.match(line)
        if m:
            path = Path(m["file"]).as_posix()
            found.append((path, int(m["line"]), m["code"] or "<no code>", m["message"]))
    return found


def expected_in(path: Path) -> set[tuple[int, str]]:
    """The ``(line, code)`` pairs that the ``# E: code`` comments of *path* announce."""
    expected = set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = MARKER.search(text)
        if m:
            expected.update((number, code) for code in re.split(r"[\s,]+", m["codes"]))
    return expected


def test_typings_layout() -> None:
    assert sorted(ACCEPT.glob("*.py")), "typings/accept holds no typed-usage file"
    assert REJECT_FILES, "typings/reject holds no file"
    for path in REJECT_FILES:
        assert expected_in(path), f"{path.name} marks no line with '# E: <code>'"
    for path in ACCEPT.glob("*.py"):
        assert "# E:" not in path.read_text(encoding="utf-8"), (
            f"{path.name}: error marker in accept/"
        )


def test_package_is_strict_clean() -> None:
    result = run_mypy("-p", "vein")
    assert result.returncode == 0, f"mypy --strict vein:\n{result.stdout}{result.stderr}"


def test_accept_files_type_check() -> None:
    # Errors inside vein/ are the test above's business: report only the usage files' own.
    result = run_mypy(str(ACCEPT.relative_to(ROOT)), follow_imports="silent")
    assert result.returncode == 0, f"mypy --strict typings/accept:\n{result.stdout}{result.stderr}"
    assert not errors_of(result.stdout)


@pytest.mark.parametrize("path", REJECT_FILES, ids=lambda p: p.name)
def test_reject_file_gives_exactly_the_marked_errors(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    result = run_mypy(rel, follow_imports="silent")
    assert result.returncode in (0, 1), f"mypy crashed on {rel}:\n{result.stdout}{result.stderr}"
    errors = errors_of(result.stdout)
    elsewhere = [e for e in errors if e[0] != rel]
    assert not elsewhere, f"errors outside {rel}: {elsewhere}"
    got = {(line, code) for _, line, code, _ in errors}
    expected = expected_in(path)
    messages = "\n".join(f"  {line}: [{code}] {msg}" for _, line, code, msg in errors)
    assert got == expected, (
        f"{rel}:\n  missing (marked, not reported): {sorted(expected - got)}"
        f"\n  unexpected (reported, not marked): {sorted(got - expected)}"
        f"\nmypy said:\n{messages}"
    )
