"""The Celery application. Eager (tasks run in-process) when CELERY_BROKER_URL is unset."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("xunhuan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Added to settings.CELERY_BEAT_SCHEDULE once the configuration is read. Credit for work
# that stood: certificates not revoked and appraisals not overturned after the policy's
# settle days (idempotent, so a missed or repeated run changes nothing).
app.add_periodic_task(
    crontab(hour=4, minute=15),
    app.signature("marketplace.credit.tasks.credit_work_settle_task"),
    name="credit-work-settle",
)
# Personal information is kept no longer than SECURITY.md ("Retention") says: emptied
# messages of deleted accounts once their dispute is decided, old conversations that never
# became an order, old notifications (idempotent, like the task above).
app.add_periodic_task(
    crontab(hour=3, minute=30),
    app.signature("marketplace.tasks.personal_data_retention_task"),
    name="personal-data-retention",
)
