"""Screenshots of every Layso page at the sizes the hall really uses (`make screenshots`).

Starts the demo hall on a free loopback port in a throw-away instance folder, drives a short
morning through the API (tickets issued, called, served, rated), and saves PNGs with Debian's
Chromium into artifacts/screenshots/ (git-ignored):

  kiosk 1080×1920; wall display 1920×1080 (idle, then calling); counter display 1280×800;
  counter page 1366×768; rating pad 800×1280 and 1280×800 at scales 3, 4 and 5 (question and
  reasons); phone page 390×844 (waiting and finished); sign-in and manager pages 1366×768.

    .venv/bin/python tools/screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
WAIT = 15_000  # ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hall:
    def __init__(self, instance: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LAYSO_")}
        self.env.update(
            LAYSO_INSTANCE=str(instance),
            LAYSO_PRINTER="none",
            LAYSO_LOG_LEVEL="WARNING",
            LAYSO_ISSUE_RATE="100000",
            LAYSO_LOGIN_RATE="100000",
        )
        self.instance = instance
        out = subprocess.run(
            [sys.executable, "-m", "layso", "seed-demo", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.demo: dict[str, Any] = json.loads(out.stdout)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (instance / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "layso", "run", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("the server exited; see its log")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)  # polling readiness: there is no event to await
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def token(self, who: str) -> str:
        if who.startswith("clerk"):
            return str(self.demo["counters"][int(who[5:]) - 1]["token"])
        if who.startswith("pad"):
            return str(self.demo["counters"][int(who[3:]) - 1]["rating_pad"])
        if who.startswith("cdisplay"):
            return str(self.demo["counters"][int(who[8:]) - 1]["counter_display"])
        if who == "manager":
            return str(self.demo["manager"]["token"])
        return str(self.demo["devices"][who])

    def api(self, path: str, who: str, body: Any = None) -> Any:
        r = requests.post(
            f"{self.url}/api/v1/halls/demo/{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {self.token(who)}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    def issue(self, service: str, priority: str | None = None) -> dict[str, Any]:
        return self.api("tickets", "kiosk", {"service": service, "priority": priority})["ticket"]  # type: ignore[no-any-return]

    def act(self, counter: int, action: str, body: Any = None) -> Any:
        return self.api(f"counters/{counter}/{action}", f"clerk{counter}", body)

    def set_scale(self, scale: int) -> None:
        with sqlite3.connect(self.instance / "layso.sqlite3", timeout=30) as con:
            con.execute("UPDATE hall SET rating_scale = ?, rating_labels = NULL", (scale,))


def shoot(page: Any, out: Path, name: str) -> None:
    page.wait_for_timeout(400)  # let fonts and transitions settle before the picture
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"  {name}.png")


def sign_in(page: Any, url: str, username: str, next_path: str) -> None:
    page.goto(f"{url}/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"demo-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{next_path}", timeout=WAIT)


def run(out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="layso-shots-") as tmp:
        hall = Hall(Path(tmp) / "instance")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium,
                    headless=True,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--autoplay-policy=no-user-gesture-required",
                    ],
                )

                def page(width: int, height: int) -> Any:
                    ctx = browser.new_context(
                        viewport={"width": width, "height": height}, locale="en-US"
                    )
                    return ctx.new_page()

                url = hall.url
                login = page(1366, 768)
                login.goto(f"{url}/login")
                shoot(login, out, "login-1366x768")

                wall = page(1920, 1080)
                wall.goto(f"{url}/display?token={hall.token('display')}")
                wall.wait_for_timeout(1500)
                shoot(wall, out, "display-idle-1920x1080")
                cdisp = page(1280, 800)
                cdisp.goto(f"{url}/counter-display?token={hall.token('cdisplay1')}")
                cdisp.wait_for_timeout(1500)
                shoot(cdisp, out, "counter-display-idle-1280x800")

                kiosk = page(1080, 1920)
                kiosk.goto(f"{url}/kiosk?token={hall.token('kiosk')}")
                kiosk.wait_for_timeout(1500)
                shoot(kiosk, out, "kiosk-home-1080x1920")

                kiosk.locator("#go-checkin").click()
                kiosk.wait_for_timeout(600)
                shoot(kiosk, out, "kiosk-checkin-1080x1920")
                kiosk.goto(f"{url}/kiosk")
                kiosk.wait_for_timeout(1000)

                book = page(390, 844)
                book.goto(f"{url}/dat-lich")
                book.wait_for_timeout(1000)
                shoot(book, out, "booking-areas-390x844")
                book.locator("#bk-areas button[data-area='TP']").click()
                book.locator("#bk-days button:not([disabled])").nth(1).click()
                book.wait_for_timeout(600)
                shoot(book, out, "booking-slots-390x844")
                book.locator("#bk-slots button:not([disabled])").first.click()
                book.locator("#bk-phone").fill("0912345678")
                book.locator("#bk-submit").click()
                expect(book.locator("#bk-done")).to_be_visible(timeout=WAIT)
                shoot(book, out, "booking-done-390x844")

                tickets = [hall.issue(s) for s in ("TP", "TP", "CT", "DD", "LD", "TP", "KD")]
                tickets.append(hall.issue("TP", "NCT"))
                phone = page(390, 844)
                phone.goto(f"{url}/t/{tickets[-2]['code']}")
                shoot(phone, out, "phone-waiting-390x844")

                pads = {}
                for size in ((800, 1280), (1280, 800)):
                    pad = page(*size)
                    pad.goto(f"{url}/rating?token={hall.token('pad1')}")
                    pads[size] = pad
                pads[(800, 1280)].wait_for_timeout(1500)
                shoot(pads[(800, 1280)], out, "rating-idle-800x1280")

                for number in (1, 2, 3, 4):
                    try:
                        hall.act(number, "next")
                    except requests.HTTPError:
                        pass
                wall.wait_for_timeout(2500)
                shoot(wall, out, "display-calling-1920x1080")
                shoot(cdisp, out, "counter-display-calling-1280x800")

                counter = page(1366, 768)
                sign_in(counter, url, "clerk2", "/counter")
                counter.wait_for_timeout(1500)
                shoot(counter, out, "counter-1366x768")
                transfer = counter.locator("[data-act=transfer]").first
                if transfer.count():
                    transfer.click()
                    counter.wait_for_timeout(600)
                    shoot(counter, out, "counter-transfer-1366x768")

                hall.act(1, "start")
                hall.act(1, "finish")
                for scale in (3, 4, 5):
                    hall.set_scale(scale)
                    for pad in pads.values():
                        pad.reload()
                        expect(pad.locator("#pad-conn")).to_have_class("pad-conn on", timeout=WAIT)
                    tickets.append(hall.issue("TP"))
                    done = hall.act(1, "next")["ticket"]
                    done["code"] = next(t["code"] for t in tickets if t["id"] == done["id"])
                    hall.act(1, "start")
                    hall.act(1, "finish")
                    for size, pad in pads.items():
                        w, h = size
                        expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)
                        shoot(pad, out, f"rating-scale{scale}-{w}x{h}")
                        pad.locator(".smiley").last.click()
                        expect(pad.locator("#s-reasons")).to_be_visible(timeout=WAIT)
                        shoot(pad, out, f"rating-reasons-scale{scale}-{w}x{h}")
                phone.goto(f"{url}/t/{done['code']}")
                shoot(phone, out, "phone-finished-390x844")

                manager = page(1366, 768)
                sign_in(manager, url, "manager", "/manager")
                names = ("", "log", "reports", "official", "bookings", "notify", "config")
                for name in (*names, "suggestions", "audit"):
                    manager.goto(f"{url}/manager/{name}")
                    manager.wait_for_timeout(1500)
                    shoot(manager, out, f"manager-{name or 'board'}-1366x768")
                    if name in ("log", "reports", "config"):
                        manager.screenshot(
                            path=str(out / f"manager-{name}-full-1366.png"), full_page=True
                        )
                browser.close()
        finally:
            hall.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "screenshots")
    args = ap.parse_args()
    print(f"screenshots into {args.out}:")
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
