"""Usage intake: usage events and meter readings sent by the provider's systems, deduplicated by the
client-chosen id, and the current usage of a subscription with its projected cost."""
