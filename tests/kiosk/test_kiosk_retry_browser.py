"""A kiosk whose answer got lost retries with the same Idempotency-Key: one ticket (issue 10)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from test_kiosk_browser import WAIT_MS, area, open_kiosk


def test_try_again_after_a_lost_answer_gives_the_same_ticket(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)
    keys: list[str] = []
    reached: list[int] = []

    def drop_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if not reached:
            answer = route.fetch()  # the server issues the ticket...
            reached.append(answer.status)
            route.abort("connectionreset")  # ...and the kiosk never hears it
        else:
            route.continue_()

    page.route("**/api/v1/halls/demo/tickets", drop_first_answer)
    area(page, "TP").click()
    expect(page.locator("#s-error")).to_be_visible(timeout=WAIT_MS)
    assert reached == [201]

    page.locator("#error-retry").click()

    expect(page.locator("#t-number")).to_have_text("1001", timeout=WAIT_MS)
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36
    # the hall agrees: the next number is 1002, so the retry issued nothing
    status, body = hall.api("POST", "tickets", "clerk1", {"service": "TP"})
    assert (status, body["ticket"]["display_number"]) == (201, "1002")

    # a new tap is a new key and a new ticket
    page.locator("#t-done").click()
    area(page, "TP").click()
    expect(page.locator("#t-number")).to_have_text("1003", timeout=WAIT_MS)
    assert len(set(keys)) == 2
