"""Webhooks: endpoints (URL, signing secrets, the events they take), deliveries signed per the Standard
Webhooks specification, retried with exponential backoff for 3 days, with a log of every attempt, manual
redelivery, an SSRF guard, and endpoints that keep failing disabled. See docs/webhooks.md."""
