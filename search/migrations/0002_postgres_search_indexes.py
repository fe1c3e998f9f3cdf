"""PostgreSQL only: the GIN index behind full-text matching, and pg_trgm (trigram
similarity for short Chinese queries, and a trigram index on titles) when the
extension can be created. Nothing happens on SQLite, which matches tokens with LIKE."""

from django.db import DatabaseError, migrations, transaction


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS search_entry_vector_gin ON search_searchentry USING gin (search_vector)"
    )
    try:
        # pg_trgm is a trusted extension (PostgreSQL 13+); without it search still works,
        # only without trigram ranking.
        with transaction.atomic():
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS search_entry_title_trgm ON search_searchentry USING gin (title gin_trgm_ops)"
    )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS search_entry_title_trgm")
    schema_editor.execute("DROP INDEX IF EXISTS search_entry_vector_gin")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
