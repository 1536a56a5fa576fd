"""``kopeck.credit.check`` (hourly: Celery beat, or the scheduler of ``kopeck serve``): the credit
check of every client — see :func:`kopeck.credit.services.credit_check`. Idempotent: an hourly run
changes something only when a day, a payment or a promise changed the picture."""

from __future__ import annotations

from kopeck.celery import app


@app.task(name="kopeck.credit.check")
def check() -> dict[str, int]:
    from kopeck.credit.services import credit_check

    return credit_check()
