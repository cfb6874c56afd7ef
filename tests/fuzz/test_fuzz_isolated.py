"""The fuzz suites, each in a fresh interpreter of its own.

On CPython 3.11 a RecursionError raised inside C code (the json encoder or decoder meeting data
nested thousands deep, in a test's own client or in a library it calls) can leave the
interpreter's recursion count off. A later ``ast.parse`` in the same process, e.g. pytest
rewriting the asserts of the next test module it imports, then fails with "AST constructor
recursion depth mismatch" — a failure in an unrelated test, long after the cause. The server is
guarded (bodies are depth-checked before decoding); the fuzzers' own side cannot be, so they run
where such a side effect cannot reach any other test. Their cases and assertions are unchanged
(``fuzz_*.py`` beside this file); a failing case shows here with pytest's own report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@pytest.mark.parametrize("suite", ["fuzz_hostile_input.py", "fuzz_schemathesis.py"])
def test_fuzz_suite_passes_in_its_own_interpreter(suite: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / suite), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and " skipped" not in run.stdout, report
