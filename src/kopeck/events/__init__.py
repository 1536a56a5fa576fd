"""Events: the catalog of what happens in Kopeck (name, version, payload schema, firing point), the
event log with a per-client sequence number, and the one recorder every app calls inside the
transaction of its change. Rules and webhooks consume the log through a port. See docs/events.md."""
