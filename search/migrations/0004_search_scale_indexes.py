"""Indexes for search at city scale (issue 16).

- A grade, a certified appraisal or verified erasure can be ANDed with the GIN match
  (bitmaps), so counting a common word with one of them reads only the rows with both.
- Cheapest first reads `search_entry_price_asc_idx` in order (ties: newest listing
  first, as the ORDER BY says); dearest first reads `search_entry_price_idx` backwards.
- PostgreSQL only: `search_entry_browse_covering`, newest first and carrying every
  column the filters, the facet counts and a page of hits read, so that searches without
  words (browsing, filters, deep pages) are index-only scans of a narrow index instead
  of reads of the wide rows (the stored document makes a row ~1.4 kB). SQLite cannot
  INCLUDE columns; it keeps using search_entry_newest_idx."""

from django.db import migrations, models

COVERED = (
    "category, device_type, emission_standard, grade, certified, erasure_verified, price, city, district, "
    "latitude, longitude, delivery_ship, delivery_pickup, delivery_event, seller_type, seller_tier, event_keys"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS search_entry_browse_covering ON search_searchentry "
        f"(published_at DESC, listing_id DESC) INCLUDE ({COVERED})"
    )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS search_entry_browse_covering")


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0003_entry_emission_standard"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(fields=["price", "-listing_id"], name="search_entry_price_asc_idx"),
        ),
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(fields=["grade"], name="search_entry_grade_idx"),
        ),
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(
                condition=models.Q(certified=True), fields=["certified"], name="search_entry_certified_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(
                condition=models.Q(erasure_verified=True), fields=["erasure_verified"], name="search_entry_erasure_idx"
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
