"""The `layso` command as a technician uses it.

`seed-demo` itself is the first test's subject; the others start from the hall it leaves,
copied from one run of the command per test process (the ``demo_seed`` fixture)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "layso", *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path, server_env_factory: Any) -> dict[str, str]:
    return server_env_factory(tmp_path / "instance")  # type: ignore[no-any-return]


def test_seed_demo_json_has_the_contract_shape(env: dict[str, str]) -> None:
    out = run(env, "seed-demo", "--json")

    data = json.loads(out.stdout)
    assert out.returncode == 0
    assert data["hall"] == "demo"
    codes = {s["code"] for s in data["services"]}
    assert len(codes) >= 5 and {"TP", "CT", "DD", "LD", "KD"} <= codes
    assert len(data["counters"]) >= 4
    for c in data["counters"]:
        assert {
            "number",
            "services",
            "clerk",
            "password",
            "token",
            "rating_pad",
            "counter_display",
        } <= set(c)
    assert any(len(c["services"]) > 1 for c in data["counters"])
    served_by = [s for s in codes if sum(s in c["services"] for c in data["counters"]) >= 2]
    assert served_by, "at least one area is served by two counters"
    assert {"username", "password", "token"} <= set(data["manager"])
    assert {"kiosk", "display", "print-agent"} <= set(data["devices"])
    assert json.loads(run(env, "seed-demo", "--json").stdout) == data  # idempotent


def test_user_device_and_token_commands_give_working_credentials(
    env: dict[str, str], demo_seed: Any, servers: Any, tmp_path: Path
) -> None:
    demo_seed(env)
    assert (
        run(
            env,
            "user",
            "add",
            "lan.nguyen",
            "--role",
            "clerk",
            "--hall",
            "demo",
            stdin="mat-khau-dai\n",
        ).returncode
        == 0
    )
    token = run(env, "token", "create", "--user", "lan.nguyen").stdout.strip()
    device = run(
        env,
        "device",
        "add",
        "--hall",
        "demo",
        "--kind",
        "rating-pad",
        "--name",
        "Bảng đánh giá quầy 2",
        "--counter",
        "2",
    ).stdout.strip()
    server = servers(env, tmp_path / "server.log")

    me = requests.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    pad = requests.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {device}"}, timeout=10
    ).json()

    assert (me["name"], me["role"], me["hall"]) == ("lan.nguyen", "clerk", "demo")
    assert (pad["role"], pad["counter"]) == ("rating-pad", 2)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("user", "add", "x", "--role", "clerk", "--hall", "demo"), "mat-khau-dai\n", "username"),
        (("user", "add", "bao", "--role", "clerk", "--hall", "demo"), "short\n", "password"),
        (("user", "add", "bao", "--role", "clerk", "--hall", "nowhere"), "mat-khau-dai\n", "hall"),
        (("user", "add", "clerk1", "--role", "clerk", "--hall", "demo"), "mat-khau-dai\n", "taken"),
        (
            ("device", "add", "--hall", "demo", "--kind", "rating-pad", "--name", "Pad"),
            "",
            "counter",
        ),
        (
            (
                "device",
                "add",
                "--hall",
                "demo",
                "--kind",
                "display",
                "--name",
                "D",
                "--counter",
                "99",
            ),
            "",
            "counter 99",
        ),
        (("token", "create", "--user", "nobody"), "", "nobody"),
    ],
)
def test_bad_cli_input_is_refused_clearly(
    env: dict[str, str], demo_seed: Any, args: tuple[str, ...], stdin: str, message: str
) -> None:
    demo_seed(env)

    out = run(env, *args, stdin=stdin)

    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("LAYSO_ASYNC_MODE", "tornado", "LAYSO_ASYNC_MODE"),
        ("LAYSO_DATABASE_URL", "mysql://x@y/z", "LAYSO_DATABASE_URL"),
        ("LAYSO_DATABASE_URL", "no-scheme", "LAYSO_DATABASE_URL"),
        ("LAYSO_PRINTER", "lpt:1", "LAYSO_PRINTER"),
        ("LAYSO_TIMEZONE", "Mars/Olympus", "LAYSO_TIMEZONE"),
        ("LAYSO_REDIS_URL", "http://x", "LAYSO_REDIS_URL"),
        ("LAYSO_ISSUE_RATE", "many", "LAYSO_ISSUE_RATE"),
        ("LAYSO_BOOK_RATE", "many", "LAYSO_BOOK_RATE"),
        ("LAYSO_BOOK_RATE", "0", "at least 1 per minute"),
        ("LAYSO_ID_HASH_KEY", "short", "LAYSO_ID_HASH_KEY"),
        ("LAYSO_ALERT_INTERVAL", "0.01", "LAYSO_ALERT_INTERVAL"),
        ("LAYSO_NOTIFY_RETRY_S", "soon", "LAYSO_NOTIFY_RETRY_S"),
        ("LAYSO_NOTIFY_ATTEMPTS", "0", "LAYSO_NOTIFY_ATTEMPTS"),
        ("LAYSO_NOTIFY_TIMEOUT_S", "-1", "LAYSO_NOTIFY_TIMEOUT_S"),
    ],
)
def test_bad_configuration_stops_at_start_with_a_clear_message(
    env: dict[str, str], var: str, value: str, message: str
) -> None:
    out = run(dict(env, **{var: value}), "db", "upgrade")

    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_backup_while_the_server_runs_is_consistent_and_restorable(
    env: dict[str, str], demo_seed: Any, servers: Any, tmp_path: Path, server_env_factory: Any
) -> None:
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    for _ in range(5):
        requests.post(
            f"{server.url}/api/v1/halls/demo/tickets",
            json={"service": "CT"},
            headers=kiosk,
            timeout=10,
        )
    target = tmp_path / "backup" / "layso.sqlite3"

    out = run(env, "backup", str(target))

    assert out.returncode == 0, out.stderr
    con = sqlite3.connect(target)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT count(*) FROM ticket").fetchone() == (5,)
    con.close()
    restored_env = server_env_factory(
        tmp_path / "restored", LAYSO_DATABASE_URL=f"sqlite:///{target}"
    )
    restored = servers(restored_env, tmp_path / "restored.log")
    r = requests.post(
        f"{restored.url}/api/v1/halls/demo/tickets",
        json={"service": "CT"},
        headers=kiosk,
        timeout=10,
    )
    assert (
        r.json()["ticket"]["display_number"] == "2006"
    )  # the restored copy carries on the day's numbers
    assert run(env, "backup", str(target)).returncode == 1  # never overwrites


def test_run_refuses_a_port_another_server_listens_on(
    env: dict[str, str], demo_seed: Any, servers: Any, tmp_path: Path
) -> None:
    demo_seed(env)
    server = servers(env, tmp_path / "server.log")

    out = run(env, "run", "--port", str(server.port))

    assert out.returncode == 1
    assert "already in use" in out.stderr and "Traceback" not in out.stderr


def test_bookings_purge_deletes_old_personal_data_and_marks_no_shows(
    env: dict[str, str], demo_seed: Any
) -> None:
    from datetime import date, timedelta

    demo_seed(env)
    db = Path(env["LAYSO_INSTANCE"]) / "layso.sqlite3"
    old = (date.today() - timedelta(days=40)).isoformat()
    recent = (date.today() - timedelta(days=2)).isoformat()
    with sqlite3.connect(db) as conn:
        for code, day in (("OLD222", old), ("NEW333", recent)):
            conn.execute(
                "INSERT INTO booking (hall_id, service_id, business_date, code, phone, id_hash,"
                " id_last, state, late, created_at) SELECT hall_id, id, ?, ?, '0912345678',"
                " 'abc', '789', 'booked', 0, '2026-01-01 00:00:00.000000' FROM service"
                " WHERE code = 'TP'",
                (day, code),
            )
    out = run(env, "bookings", "purge")
    assert out.returncode == 0, out.stderr
    assert "1 booking(s)" in out.stdout
    with sqlite3.connect(db) as conn:
        rows = dict(
            (code, (phone, id_hash, id_last, state))
            for code, phone, id_hash, id_last, state in conn.execute(
                "SELECT code, phone, id_hash, id_last, state FROM booking"
            )
        )
    assert rows["OLD222"] == (None, None, None, "no_show")  # 40 days > 30 kept
    assert rows["NEW333"] == ("0912345678", "abc", "789", "no_show")
