"""The transactional outbox: side effects (e-mail, webhooks, gateway calls, PDF rendering) are written
as messages in the same transaction as the change and delivered at least once by idempotent handlers.
See docs/outbox.md."""
