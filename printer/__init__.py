"""The printing role of the server: thin, on top of the core and the print agent library.

* :mod:`printer.worker`: :class:`~printer.worker.PrintService`, the glue that opens the
  transactions of the print jobs (:mod:`layso.services.printing`), prints the server's own
  jobs off the event loop (:mod:`layso_agent.pool`, :mod:`layso_agent.delivery`) and listens to
  the hub for committed tickets;
* :mod:`printer.events`: the print agents' socket events (``print.hello``, ``print.status``,
  ``print.result``);
* :mod:`printer.reprint`: the reprint endpoint.

Drawing tickets, printer drivers and status, delivery and the print agent of a kiosk PC are the
separate library :mod:`layso_agent` (agent/ at the top of the repository, no Flask, no
:mod:`layso`).
"""

from __future__ import annotations

from typing import Any

from printer.reprint import bp

__all__ = ["bp", "init_app"]


def init_app(app: Any) -> None:
    """Wire printing into the server: print jobs for kiosk tickets and the agents' socket events
    (see :mod:`printer.worker`); the app registers :data:`bp`, the reprint endpoint."""
    from printer.worker import init_app as init_worker

    init_worker(app)
