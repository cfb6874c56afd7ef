"""python-escpos's capabilities: read once per machine, and no temporary directory left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

PROBE = """
import json, os, sys
import layso_agent.driver
import escpos.capabilities as caps
print(json.dumps({"dir": os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"),
                  "pickle": caps.pickle_path, "full_load": caps.full_load,
                  "profiles": len(caps.CAPABILITIES["profiles"])}))
"""


def probe(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env["TMPDIR"] = str(tmp)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_the_capabilities_are_pickled_once_and_no_directory_is_left(tmp_path: Path) -> None:
    first = probe(tmp_path)
    private = tmp_path / f"layso-escpos-{os.getuid()}"
    assert first["dir"] == str(private)
    assert not first["full_load"]  # python-escpos found the pickle: no YAML parse
    assert sorted(p.name for p in tmp_path.iterdir()) == [private.name]  # no mkdtemp() left
    pickled = Path(first["pickle"])
    assert pickled.parent == private and oct(private.stat().st_mode & 0o777) == "0o700"
    made = pickled.stat().st_mtime_ns

    second = probe(tmp_path)
    assert not second["full_load"] and second["profiles"] == first["profiles"]
    assert pickled.stat().st_mtime_ns == made  # read, not written again
    assert sorted(p.name for p in tmp_path.iterdir()) == [private.name]


def test_the_pickle_holds_what_python_escpos_reads_itself(tmp_path: Path) -> None:
    import pickle

    import escpos

    probe(tmp_path)
    source = Path(escpos.__file__).parent / "capabilities.json"
    pickled = next((tmp_path / f"layso-escpos-{os.getuid()}").glob("*.capabilities.pickle"))
    assert pickle.loads(pickled.read_bytes()) == yaml.safe_load(source.read_text("utf-8"))


def test_a_directory_of_someone_else_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / f"layso-escpos-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # writable by anyone: a pickle there could be anyone's code
    got = probe(tmp_path)
    assert got["dir"] is None and got["full_load"]  # python-escpos on its own, as before
    assert list(shared.iterdir()) == []
