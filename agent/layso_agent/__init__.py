"""Layso's print agent library: queue tickets on ESC/POS thermal printers.

Plain Python: no Flask, no SQLAlchemy, no green threads and no import of :mod:`layso`, so that a
kiosk PC installs it alone (``pip install ./agent``, see agent/pyproject.toml). The server
depends on it too and uses the same code for its own printer.

* :mod:`layso_agent.ticket`: what goes on a ticket (:class:`~layso_agent.ticket.TicketView`);
* :mod:`layso_agent.render`: drawing it (Pillow, the bundled DejaVu fonts in ``fonts/``) and
  writing it to any python-escpos printer;
* :mod:`layso_agent.driver`: printer URIs, the devices behind them, printing one ticket;
* :mod:`layso_agent.status`: asking a printer its state (DLE EOT);
* :mod:`layso_agent.delivery`: one ticket with a short timeout and a retry, and what became
  of it; the ticket as JSON for the ``print.job`` event;
* :mod:`layso_agent.agent`: the print agent of a kiosk PC (hub client, journal);
* :mod:`layso_agent.pool`: drawing in a worker process, for a server whose event loop must not
  do it;
* :mod:`layso_agent.cli`: the ``layso-agent`` command.
"""
