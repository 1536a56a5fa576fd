"""Outbox handlers of gateways (delivered at least once; idempotent):

* ``gateways.offset_receipt`` ``{"payment": id, "document": id}`` — the offset receipt (зачёт аванса)
  of a prepaid online payment, once its act or УПД is issued (:mod:`kopeck.gateways.offsets`).
"""

from __future__ import annotations

from kopeck.gateways.offsets import TOPIC, send_offset_receipt
from kopeck.outbox.registry import handler

handler(TOPIC)(send_offset_receipt)
