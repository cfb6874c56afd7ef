"""The names of the hub's events: one enum, used wherever the server emits or listens.

A member is a ``str`` (``Ev.TICKET_ISSUED == "ticket.issued"``), so it goes as it is into the
event log, a Socket.IO emit or a comparison with a name read back from the log. The pages'
JavaScript and the print agent (a separate program) keep the string literals; the API
reference lists the events and their bodies.
"""

from __future__ import annotations

from enum import StrEnum


class Ev(StrEnum):
    """Every event name the server sends (in the hall's log or to one client) or receives."""

    # the hall's log: everyone in the hall
    TICKET_ISSUED = "ticket.issued"
    TICKET_CALLED = "ticket.called"
    TICKET_RECALLED = "ticket.recalled"
    TICKET_STARTED = "ticket.started"
    TICKET_FINISHED = "ticket.finished"
    TICKET_NO_SHOW = "ticket.no_show"
    TICKET_HELD = "ticket.held"
    TICKET_TRANSFERRED = "ticket.transferred"
    TICKET_CANCELLED = "ticket.cancelled"
    TICKET_EXPIRED = "ticket.expired"  # still waiting or held when the hall's day ended
    TICKET_DOSSIER = "ticket.dossier"  # the clerk entered the dossier code (mã hồ sơ)
    QUEUE_CHANGED = "queue.changed"
    COUNTER_CHANGED = "counter.changed"
    CONFIG_CHANGED = "config.changed"
    # the hall's log: one audience
    TICKET_RATED = "ticket.rated"  # managers
    RATING_REQUESTED = "rating.requested"  # that counter's rating pad
    PRINT_JOB = "print.job"  # that kiosk's print agent
    TICKET_PRINTED = "ticket.printed"  # the kiosk that issued the ticket
    PRINT_FAILED = "print.failed"  # the kiosk that issued the ticket
    PRINTER_STATUS = "printer.status"  # managers
    DAY_CHANGED = "day.changed"  # managers: today's queue kept open past closing time, or not
    NOTIFY_FAILED = "notify.failed"  # managers: a notice given up (layso.services.notify)
    TICKET_POSTPONED = "ticket.postponed"  # the holder said "I'll be late": moved back
    BOOKING_CREATED = "booking.created"  # managers (phone and ID masked)
    BOOKING_CANCELLED = "booking.cancelled"  # managers
    BOOKING_CHECKED_IN = "booking.checked_in"  # managers; the ticket is in ticket.issued
    BOOKING_NO_SHOW = "booking.no_show"  # managers: its day ended without a check-in
    ALERT_RAISED = "alert.raised"  # managers
    ALERT_CLEARED = "alert.cleared"  # managers
    DEVICE_STATUS = "device.status"  # managers: a device's health changed (online, paper...)
    # to one client as it joins, never logged
    SNAPSHOT = "snapshot"
    # from the print agents
    PRINT_HELLO = "print.hello"
    PRINT_STATUS = "print.status"
    PRINT_RESULT = "print.result"
    # from every device page and print agent
    DEVICE_HEARTBEAT = "device.heartbeat"
