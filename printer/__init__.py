"""Queue tickets on ESC/POS thermal printers: ticket data, layout and printer drivers.

Plain Python: no Flask and no import of :mod:`layso`, so the print agent on a kiosk PC can use
it alone. :mod:`printer.ticket` holds what goes on a ticket, :mod:`printer.render` draws it and
writes it to any python-escpos printer, :mod:`printer.driver` turns a printer URI into a device,
:mod:`printer.delivery` prints one ticket with a short timeout and a retry and says what became
of it, :mod:`printer.agent` is the print agent of a kiosk PC (``layso print-agent``) and
:mod:`printer.cli` is ``layso printer test``. The server's side (print jobs, the agents' socket
events, the reprint endpoint) is in :mod:`printer.worker` and :mod:`printer.events`, loaded only
by :func:`init_app`.
"""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Wire printing into the server: print jobs for kiosk tickets, the agents' socket events
    and the reprint endpoint (see :mod:`printer.worker`). Imported lazily, so that the print
    agent and ``python -m printer`` never load the server."""
    from printer.worker import init_app as init_worker

    init_worker(app)


def _openapi_paths() -> dict[str, Any]:
    from printer.worker import openapi_paths

    return openapi_paths()


OPENAPI_PATHS = _openapi_paths
