"""The default dunning ladder (the operator edits it in the back office)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULT_LADDER = [
    ("Напоминание об оплате", "remind", "due_date", 1, True),
    ("Предупреждение о блокировке", "warn", "due_date", 5, True),
    ("Блокировка клиента", "block_client", "due_date", 10, True),
    ("Предупреждение: баланс ниже кредитного лимита", "warn", "limit", 0, True),
    ("Блокировка клиента: баланс ниже кредитного лимита", "block_client", "limit", 3, True),
    ("Отключение услуг", "terminate", "due_date", 60, False),
]


def forwards(apps: Any, schema_editor: Any) -> None:
    step = apps.get_model("credit", "DunningStep")
    if step.objects.exists():
        return
    for name, action, anchor, offset, active in DEFAULT_LADDER:
        step.objects.create(name=name, action=action, anchor=anchor, offset_days=offset, notify=True,
                            is_active=active)


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
