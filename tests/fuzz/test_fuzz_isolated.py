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

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _schemathesis_principals() -> list[str]:
    """The principals of fuzz_schemathesis.py (its ``WHO``, read from its text, not imported:
    its imports are heavy and every xdist worker collects this module)."""
    text = (HERE / "fuzz_schemathesis.py").read_text(encoding="utf-8")
    found = re.search(r"^WHO = (\[.*\])$", text, re.MULTILINE)
    assert found, "fuzz_schemathesis.py no longer lists its principals in WHO"
    return [str(who) for who in ast.literal_eval(found.group(1))]


# the schemathesis suite in one interpreter per principal: five runs of ~25 s spread over the
# xdist workers, instead of one of two minutes on one of them
RUNS = [("fuzz_hostile_input.py", None)] + [
    ("fuzz_schemathesis.py", who) for who in _schemathesis_principals()
]


@pytest.mark.parametrize(
    ("suite", "who"), RUNS, ids=["hostile_input"] + [f"schemathesis-{w}" for _, w in RUNS[1:]]
)
def test_fuzz_suite_passes_in_its_own_interpreter(suite: str, who: str | None) -> None:
    env = dict(os.environ, LAYSO_FUZZ_WHO=who) if who else None
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / suite), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and " skipped" not in run.stdout, report
    if who is not None:
        assert "1 passed" in run.stdout, report  # that principal's run, and only it
