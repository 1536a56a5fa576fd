"""Online payments through aggregators: a small port (kopeck.gateways.providers.base), one module per
provider, the notification store and its verdicts, Kopeck's own order records, saved methods and
autopayments, reconciliation. docs/gateways.md."""
