"""The Celery application. Eager (tasks run in-process) when CELERY_BROKER_URL is unset."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("xunhuan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
