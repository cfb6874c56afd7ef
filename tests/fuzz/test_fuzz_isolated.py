"""The fuzz suites, each in a fresh interpreter of its own.

On CPython 3.11 a RecursionError raised inside C code (the json encoder or decoder meeting data
nested thousands deep, in a test's own client or in a library it calls) can leave the
interpreter's recursion count off. A later ``ast.parse`` in the same process, e.g. pytest
rewriting the asserts of the next test module it imports, then fails with "AST constructor
recursion depth mismatch" — a failure in an unrelated test, long after the cause. The server is
guarded (bodies are depth-checked before decoding); the fuzzers' own side cannot be, so they run
where such a side effect cannot reach any other test. Their cases and assertions are unchanged
(``fuzz_*.py`` beside this file); a failing case shows here with pytest's own report.

The schemathesis suite runs in two interpreters, its principals shared between them: one run
of all five took two minutes on one core, the suite's longest test, which could start last; a
run per principal cost some 8 s more each (an interpreter, the app, the schema), 40 s of CPU
on a suite that keeps both cores busy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


# fuzz_schemathesis.py's test in two runs, by its test ids; the last test below holds these to
# what that module collects
RUNS = (
    ("sqlite-manager", "sqlite-clerk1"),
    ("sqlite-kiosk", "sqlite-pad1", "sqlite-None"),
)
PRINCIPALS = tuple(who for run in RUNS for who in run)


@pytest.mark.parametrize(
    ("suite", "only"),
    [("fuzz_hostile_input.py", ())] + [("fuzz_schemathesis.py", run) for run in RUNS],
    ids=["hostile-input", *(f"schemathesis-{'-'.join(w[7:] for w in run)}" for run in RUNS)],
)
def test_fuzz_suite_passes_in_its_own_interpreter(suite: str, only: tuple[str, ...]) -> None:
    test = f"{HERE / suite}::test_no_generated_request_gets_a_server_error"
    targets = [f"{test}[{who}]" for who in only] or [str(HERE / suite)]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and " skipped" not in run.stdout, report


def test_the_schemathesis_runs_cover_every_case_of_its_module() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(HERE / "fuzz_schemathesis.py"),
            "--collect-only",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    collected = {
        line.rpartition("[")[2].rstrip("]") for line in run.stdout.splitlines() if "::" in line
    }
    assert collected == set(PRINCIPALS) and len(PRINCIPALS) == len(collected), run.stdout[-2000:]
