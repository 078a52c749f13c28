"""The listened, validated write (SPEC §12) under pyperf: ``just bench-pyperf``.

``bench/run.py`` measures every SPEC §12 figure in one process, round-robin, in under a
minute.  This script measures the hottest one, a validated write heard by one subscriber,
the rigorous way: pyperf calibrates the loop count, runs each case in several fresh worker
processes, drops warm-ups and reports mean ± standard deviation.  Use it when a change to
the write path needs a number you can trust on a noisy machine; compare two runs with
``python -m pyperf compare_to old.json new.json``.

The systems and their objects are the ones ``bench/run.py`` builds (same validator, same
listener, same correctness checks before timing); every pyperf option works
(``--fast``, ``--rigorous``, ``-o result.json``, ``--debug-single-value``).  At the end the
ratios to vein are printed, as ``bench/run.py`` prints them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pyperf

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/run.py: the systems, their objects and checks)

WRITES = 10  # unrolled per loop, alternating 1 and 2 (equal writes are silent everywhere)

CASES: dict[str, tuple[str, Any, bool]] = {
    # name: (label, factory taking the listener, has a validator to check)
    "vein": ("vein (validator + on_change)", run.make_vein, True),
    "psygnal_dc": (run.WRITE_PEERS["write.psygnal_dc"][0], run.make_psygnal_dc, False),
    "psygnal_attrs": (run.WRITE_PEERS["write.psygnal_attrs"][0], run.make_psygnal_attrs, True),
    "traitlets": (run.WRITE_PEERS["write.traitlets"][0], run.make_traitlets, True),
    "param": (run.WRITE_PEERS["write.param"][0], run.make_param, True),
    "atom": (run.WRITE_PEERS["write.atom"][0], run.make_atom, True),
}


def writes(loops: int, obj: Any) -> float:
    """*loops* x 10 writes of ``obj.i``, timed."""
    o = obj
    t0 = time.perf_counter()
    for _ in range(loops):
        o.i = 1
        o.i = 2
        o.i = 1
        o.i = 2
        o.i = 1
        o.i = 2
        o.i = 1
        o.i = 2
        o.i = 1
        o.i = 2
    return time.perf_counter() - t0


def main() -> None:
    runner = pyperf.Runner()
    runner.metadata["description"] = "validated write heard by one subscriber (SPEC §12)"
    results: dict[str, Any] = {}
    for name, (label, make, validated) in CASES.items():
        try:
            # The checks bench/run.py runs: one event per write, out-of-range rejected.
            run.check_fires(make, run._w_i)
            if validated:
                run.check_rejects(make(run.cb), run._w_i, run._r_i)
            obj = make(run.cb)
        except run.Skip as exc:
            print(f"skipped {name}: {exc}", file=sys.stderr)
            continue
        bench = runner.bench_time_func(f"write.{name}", writes, obj, inner_loops=WRITES)
        if bench is not None:
            results[name] = (label, bench)
    if runner.args.worker:  # a worker process: only the parent has every case's values
        return
    if "vein" in results:
        base = results["vein"][1].mean()
        print("\nper write, ratio to vein (pyperf means):")
        for label, bench in results.values():
            print(f"  {label:<46} {bench.mean() * 1e9:9.1f} ns  {bench.mean() / base:6.2f}x")


if __name__ == "__main__":
    main()
