"""Layso: queue tickets for public-service halls."""

__version__ = "0.1.0"
