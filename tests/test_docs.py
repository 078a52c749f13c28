"""Every example in the documentation runs, and says what it prints.

Conventions for code blocks in ``docs/*.md`` and ``README.md`` (also in docs/index.md):

* `` ```python `` blocks run.  All blocks of one file run in order, in one fresh process and
  one namespace (a block may use what an earlier block of the same page defined), in a
  fresh temporary working directory holding a copy of ``examples/``.  A block must leave
  ``os.environ`` as it found it; the runner checks that and restores it.
* `` ```python no-run `` blocks are shown, never run (type-checker output, fragments).
* A block with ``file=NAME`` in its info string (`` ```yaml file=config.yml ``,
  `` ```python file=settings.py ``) is not run: its text is written to ``NAME`` in the
  working directory, which is also on ``sys.path`` (so ``from settings import Settings``).
* `` ```sh run `` blocks run with ``bash`` in the same directory, after the page's earlier
  blocks, with ``vein`` on ``PATH`` meaning this checkout's ``python -m vein``.  Every
  command must succeed (``set -e``); with ``sh run exit=N`` the block's last command must
  exit with ``N`` instead.  Other ``sh`` blocks are not run.
* A `` ```text output `` block right after a ``sh run`` block is its expected output
  (stdout and stderr together): each of its lines must appear in that order, compared with
  runs of spaces collapsed (column widths may change).

A failure names the page and the line of the block; Python tracebacks point at the
Markdown lines themselves.  Each page is one test and one subprocess, so the suite stays
fast and pages cannot leak state (the global ``vein.config``, env vars) into each other.

Run one page by hand: ``python tests/test_docs.py docs/events.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]

_FENCE = re.compile(r"^(`{3,})\s*([^`]*)$")


def extract_blocks(text: str) -> list[dict[str, Any]]:
    """Fenced code blocks at the start of a line: ``{"info", "line", "code"}``.

    *line* is the 1-based line of the first line of code (the line after the fence).
    """
    blocks: list[dict[str, Any]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2).strip()
        start = i + 1
        j = start
        while j < len(lines) and not (
            lines[j].startswith(fence) and not lines[j].strip("`").strip()
        ):
            j += 1
        blocks.append({"info": info, "line": start + 1, "code": "\n".join(lines[start:j]) + "\n"})
        i = j + 1
    return blocks


def kind_of(info: str) -> tuple[str, dict[str, str]]:
    """``("python" | "file" | "sh" | "output" | "other", options)`` for a fence's info string."""
    words = info.split()
    lang = words[0].lower() if words else ""
    opts = dict(w.split("=", 1) if "=" in w else (w, "") for w in words[1:])
    if opts.get("file"):
        return "file", opts
    if lang in ("python", "py") and "no-run" not in opts:
        return "python", opts
    if lang in ("sh", "bash", "console", "shell") and "run" in opts:
        return "sh", opts
    if lang == "text" and "output" in opts:
        return "output", opts
    return "other", opts


def _squash(line: str) -> str:
    return " ".join(line.split())


def _check_output(expected: str, actual: str) -> str | None:
    """``None`` if every expected line appears in *actual*, in order; else the first missing."""
    got = [_squash(x) for x in actual.splitlines()]
    pos = 0
    for want in (_squash(x) for x in expected.splitlines()):
        if not want:
            continue
        while pos < len(got) and got[pos] != want:
            pos += 1
        if pos == len(got):
            return want
        pos += 1
    return None


# --- the runner (executed in a subprocess, one per page) ----------------------------------


def _vein_shim(bindir: Path) -> None:
    shim = bindir / "vein"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vein "$@"\n')
    shim.chmod(0o755)


def run_page(page: Path) -> int:
    """Run every runnable block of *page* in order; print what failed; return 0 or 1."""
    try:
        shown = page.relative_to(ROOT)
    except ValueError:
        shown = page
    blocks = extract_blocks(page.read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    sys.path.insert(0, os.getcwd())
    bindir = Path.cwd() / ".bin"  # the page's temporary directory: removed with it
    bindir.mkdir(exist_ok=True)
    _vein_shim(bindir)
    env_path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    last_sh: dict[str, Any] | None = None
    last_out = ""
    for block in blocks:
        kind, opts = kind_of(block["info"])
        where = f"{shown}:{block['line']}"
        if kind == "python":
            last_sh = None
            before = dict(os.environ)
            code = "\n" * (block["line"] - 1) + block["code"]
            try:
                exec(compile(code, str(shown), "exec", dont_inherit=True), namespace)  # noqa: S102 - the docs' own examples
            except BaseException:
                print(f"{where}: python block failed", file=sys.stderr)
                traceback.print_exc()
                return 1
            finally:
                leaked = {
                    k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)
                }
                os.environ.clear()
                os.environ.update(before)
            if leaked:
                print(
                    f"{where}: the block left environment variables changed: {sorted(leaked)}",
                    file=sys.stderr,
                )
                return 1
        elif kind == "file":
            last_sh = None
            target = Path(opts["file"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block["code"], encoding="utf-8")
        elif kind == "sh":
            want = int(opts.get("exit") or 0)
            env = dict(os.environ, PATH=env_path)
            script = ("set -e\n" if want == 0 else "") + block["code"]
            proc = subprocess.run(
                ["bash", "-c", script],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            if proc.returncode != want:
                print(
                    f"{where}: sh block exited {proc.returncode}, expected {want}; output:\n{proc.stdout}",
                    file=sys.stderr,
                )
                return 1
            last_sh, last_out = block, proc.stdout
        elif kind == "output":
            if last_sh is None:
                print(
                    f"{where}: a 'text output' block must follow a 'sh run' block", file=sys.stderr
                )
                return 1
            missing = _check_output(block["code"], last_out)
            if missing is not None:
                print(
                    f"{where}: expected output line not found (in order): {missing!r}\n"
                    f"actual output of {shown}:{last_sh['line']}:\n{last_out}",
                    file=sys.stderr,
                )
                return 1
            last_sh = None
        else:
            last_sh = None
    return 0


def _main(argv: list[str]) -> int:
    """Run the pages named in *argv* (paths), each in a fresh temporary directory."""
    status = 0
    sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    for arg in argv:
        page = Path(arg).resolve()
        with tempfile.TemporaryDirectory(prefix="vein-docs-") as tmp:
            if (ROOT / "examples").is_dir():
                shutil.copytree(ROOT / "examples", Path(tmp) / "examples")
            os.chdir(tmp)
            status |= run_page(page)
            os.chdir(ROOT)
    return status


# --- the tests ----------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - running a page by hand without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.mark.parametrize(
        "page", PAGES, ids=[p.name if p.parent == DOCS else "README.md" for p in PAGES]
    )
    def test_page_examples_run(page: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
        env.pop("PYTHONWARNINGS", None)
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), str(page)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout

    def test_every_page_is_in_the_index() -> None:
        index = (DOCS / "index.md").read_text(encoding="utf-8")
        missing = [
            p.name
            for p in PAGES
            if p.parent == DOCS and p.name != "index.md" and f"({p.name}" not in index
        ]
        assert not missing, f"pages not linked from docs/index.md: {missing}"

    # Pages other people are writing right now; linked already, checked once they exist.
    PENDING = {"migrating-from-dicts.md"}

    def test_relative_links_resolve() -> None:
        broken = []
        for page in PAGES:
            for target in re.findall(
                r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")
            ):
                if "://" in target or target.startswith("mailto:"):
                    continue
                if not (page.parent / target).exists() and Path(target).name not in PENDING:
                    broken.append(f"{page.relative_to(ROOT)} -> {target}")
        assert not broken, broken

    def test_runner_conventions() -> None:
        text = "```python\na = 1\n```\n\n```python no-run\nboom(\n```\n\n```sh run exit=1\nfalse\n```\n"
        kinds = [kind_of(b["info"])[0] for b in extract_blocks(text)]
        assert kinds == ["python", "other", "sh"]
        assert kind_of("yaml file=config.yml") == ("file", {"file": "config.yml"})
        assert [b["line"] for b in extract_blocks(text)] == [2, 6, 10]
        assert _check_output("a  b\nd", "a b\nc\nd\n") is None
        assert _check_output("d\na b", "a b\nc\nd\n") == "a b"
        assert json.loads(json.dumps(kind_of("sh run exit=2")[1])) == {"run": "", "exit": "2"}


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
