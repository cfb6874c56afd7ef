"""Queue tickets on ESC/POS thermal printers: ticket data, layout and printer drivers.

Plain Python: no Flask and no import of :mod:`layso`, so the print agent on a kiosk PC can use
it alone. :mod:`printer.ticket` holds what goes on a ticket, :mod:`printer.render` draws it and
writes it to any python-escpos printer, :mod:`printer.driver` turns a printer URI into a device.
"""
