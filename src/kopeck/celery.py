"""The Celery application. The broker comes from CELERY_BROKER_URL (RabbitMQ or Redis); with none
configured, tasks run in-process (task_always_eager) — the embedded default."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopeck.settings")

app = Celery("kopeck")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
