"""Business rules (Бизнес правила): when an event of the catalog happens and a CEL condition holds,
run an ordered list of actions — notify, call a webhook, block/unblock, tag, change a subscription's
status, set a client field. Consumes the event log (kopeck.events.ports). See docs/rules.md."""
