"""Notifications to people: e-mail over SMTP (with the mail settings), sent through the outbox."""
