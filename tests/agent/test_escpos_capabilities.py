"""python-escpos's capabilities: read once per machine, and no temporary directory left behind."""

from __future__ import annotations

import json
import os
import platform
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


def probe(tmp: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env["TMPDIR"] = str(tmp)
    env.update(extra)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_the_capabilities_are_pickled_once_and_no_directory_is_left(tmp_path: Path) -> None:
    first = probe(tmp_path)
    private = tmp_path / f"layso-escpos-{os.getuid()}"
    own = Path(first["dir"])  # one folder per capabilities.json, inside the private one
    assert own.parent == private
    assert not first["full_load"]  # python-escpos found the pickle: no YAML parse
    assert sorted(p.name for p in tmp_path.iterdir()) == [private.name]  # no mkdtemp() left
    pickled = Path(first["pickle"])
    assert pickled.parent == own and oct(private.stat().st_mode & 0o777) == "0o700"
    assert oct(own.stat().st_mode & 0o777) == "0o700"
    assert sorted(p.name for p in own.iterdir()) == [pickled.name, "source.txt"]  # no .part
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
    pickled = next((tmp_path / f"layso-escpos-{os.getuid()}").rglob("*.capabilities.pickle"))
    assert pickle.loads(pickled.read_bytes()) == yaml.safe_load(source.read_text("utf-8"))


def test_a_directory_of_someone_else_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / f"layso-escpos-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # writable by anyone: a pickle there could be anyone's code
    got = probe(tmp_path)
    assert got["dir"] is None and got["full_load"]  # python-escpos on its own, as before
    assert list(shared.iterdir()) == []


def test_a_pickle_shared_with_another_installation_is_never_rewritten_in_place(
    tmp_path: Path,
) -> None:
    """A process that inherits the variable from its parent, with a capabilities.json newer
    than the pickle there (another virtualenv, an upgrade), used to have python-escpos rewrite
    that shared pickle in place, under the feet of a process reading it ("EOFError: Ran out of
    input" at a server's start). Now it reads its own JSON's pickle and writes nothing shared."""
    private = tmp_path / f"layso-escpos-{os.getuid()}"
    elsewhere = private / "another-installation"
    elsewhere.mkdir(parents=True, mode=0o700)
    private.chmod(0o700)
    stale = elsewhere / f"{platform.python_version()}.capabilities.pickle"
    stale.write_bytes(b"not what this python-escpos would write")
    os.utime(stale, (0, 0))  # older than any capabilities.json
    for inherited in (elsewhere, private):  # this version's layout, and the one before it
        got = probe(tmp_path, ESCPOS_CAPABILITIES_PICKLE_DIR=str(inherited))
        assert not got["full_load"] and got["profiles"] > 0
        assert Path(got["dir"]).parent == private and Path(got["dir"]) != elsewhere
    assert stale.read_bytes() == b"not what this python-escpos would write"
    assert stale.stat().st_mtime == 0


def test_a_variable_set_by_the_user_elsewhere_is_left_to_python_escpos(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    got = probe(tmp_path, ESCPOS_CAPABILITIES_PICKLE_DIR=str(chosen))
    assert got["dir"] == str(chosen) and Path(got["pickle"]).parent == chosen
    assert not (tmp_path / f"layso-escpos-{os.getuid()}").exists()


def test_the_pickles_of_installations_gone_or_changed_are_removed(tmp_path: Path) -> None:
    """Writing a new pickle removes those whose capabilities.json is gone (a deleted virtualenv)
    or changed (an upgrade); one whose JSON is still as it was, or whose note is not written yet
    (another process at work), stays."""
    private = tmp_path / f"layso-escpos-{os.getuid()}"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    alive_json = tmp_path / "alive.json"
    alive_json.write_text("{}")
    st = alive_json.stat()
    changed_json = tmp_path / "changed.json"
    changed_json.write_text("{}")
    folders = {}
    for name, note in (
        ("gone", f"2 1 {tmp_path / 'deleted-venv' / 'capabilities.json'}"),
        ("changed", f"{changed_json.stat().st_size} 1 {changed_json}"),
        ("alive", f"{st.st_size} {st.st_mtime_ns} {alive_json}"),
        ("writing", None),
    ):
        folder = folders[name] = private / name
        folder.mkdir(mode=0o700)
        (folder / f"{platform.python_version()}.capabilities.pickle").write_bytes(b"x")
        if note is not None:
            (folder / "source.txt").write_text(note)

    got = probe(tmp_path)

    assert not got["full_load"] and Path(got["dir"]).parent == private
    left = sorted(p.name for p in private.iterdir())
    assert left == sorted(["alive", "writing", Path(got["dir"]).name])
    assert (Path(got["dir"]) / "source.txt").read_text().endswith("capabilities.json")
