"""Kopeck: subscription billing for SaaS, hosting and cloud providers."""

__version__ = "0.1.0"
