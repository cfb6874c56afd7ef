"""The fake printers (a network printer on loopback, a tty) as fixtures for the agent's tests."""

from printer_fakes import closed_port, fake_device, fake_printer  # noqa: F401  (fixtures)
