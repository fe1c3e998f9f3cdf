"""Credit events are append-only in the database itself on PostgreSQL: UPDATE and DELETE
raise an error (TRUNCATE stays possible so test databases can be reset). On SQLite the
models refuse it (CreditEvent.save/delete) and tests check that no code path does it.

Also the starting policy table (staff edit it in the Wagtail admin)."""

from django.db import migrations

TABLE = "credit_creditevent"

DEFAULT_EFFECTS = [
    # role, tier, effect, limit, note
    ("seller", "restricted", "certified_appraisal", None, "Low-tier sellers need a certified appraisal."),
    ("seller", "watch", "certified_appraisal", None, "Low-tier sellers need a certified appraisal."),
    ("seller", "restricted", "open_listing_cap", 3, "At most 3 listings on sale."),
    ("seller", "watch", "open_listing_cap", 10, "At most 10 listings on sale."),
    ("buyer", "restricted", "no_cash_on_pickup", None, "Pay by card, held until receipt."),
    ("buyer", "watch", "no_cash_on_pickup", None, "Pay by card, held until receipt."),
    ("seller", "excellent", "badge", None, "Top-rated seller badge."),
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{TABLE} is append-only: %% is not allowed', TG_OP;
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only();"
    )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE};")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only();")


def create_policy(apps, schema_editor):
    TierEffect = apps.get_model("credit", "TierEffect")
    for role, tier, effect, limit, note in DEFAULT_EFFECTS:
        TierEffect.objects.get_or_create(role=role, tier=tier, effect=effect, defaults={"limit": limit, "note": note})


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_initial")]
    operations = [
        migrations.RunPython(create_trigger, drop_trigger),
        migrations.RunPython(create_policy, migrations.RunPython.noop),
    ]
