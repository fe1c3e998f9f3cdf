"""The django.contrib.sites Site that allauth reads: its name heads every account e-mail
("[循环 Xunhuan] …", "来自循环 Xunhuan 的问候"), in both languages."""

from django.conf import settings
from django.db import migrations

SITE_NAME = "循环 Xunhuan"


def name_the_site(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    Site.objects.update_or_create(
        pk=getattr(settings, "SITE_ID", 1),
        defaults={"name": SITE_NAME, "domain": getattr(settings, "SITE_DOMAIN", "127.0.0.1:8000")},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0008_order_hold"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(name_the_site, migrations.RunPython.noop)]
