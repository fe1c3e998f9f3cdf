"""Publish the rule sets shipped in grading/rulesets/ (later versions arrive through
`manage.py load_rulesets` or the Wagtail admin)."""

from django.db import migrations
from django.utils import timezone


def load(apps, schema_editor):
    from grading.loading import shipped_documents
    from grading.rules import content_hash

    RuleSetVersion = apps.get_model("grading", "RuleSetVersion")
    now = timezone.now()
    for document in shipped_documents():
        RuleSetVersion.objects.get_or_create(
            key=document["key"],
            version=document["version"],
            defaults={
                "category": document["category"],
                "device_types": document.get("device_types", []),
                "document": document,
                "content_hash": content_hash(document),
                "status": "published",
                "published_at": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("grading", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
