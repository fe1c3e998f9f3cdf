"""Rebuild the search indices from the marketplace tables without downtime.

Elasticsearch: a new versioned index is filled, then the alias is swapped to it in one
atomic call and the old index dropped; the database index is rebuilt in one
transaction. Afterwards a drift-repair pass picks up listings that changed meanwhile."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from search.backends.base import SearchBackend, SearchUnavailable, database_backend, get_backend
from search.indexing import drift_repair, rebuild


class Command(BaseCommand):
    help = "Rebuild the search index (Elasticsearch: new index + alias swap) and the database fallback index."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backend",
            choices=("all", "engine", "database"),
            default="all",
            help="Which index to rebuild: the configured engine, the database index, or both (default).",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--repair-only", action="store_true", help="Only fix drift (missing, stale or extra entries)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        engine, fallback = get_backend(), database_backend()
        chosen: list[SearchBackend] = []
        if options["backend"] in ("all", "database"):
            chosen.append(fallback)
        if options["backend"] in ("all", "engine") and engine is not fallback:
            chosen.append(engine)
        for backend in chosen:
            try:
                if options["repair_only"]:
                    report = drift_repair(backend, batch_size=options["batch_size"])
                    self.stdout.write(f"{backend.name}: {report.reindexed} re-indexed, {report.removed} removed")
                else:
                    written = rebuild(backend, batch_size=options["batch_size"])
                    where = f" (alias {backend.alias})" if hasattr(backend, "alias") else ""
                    self.stdout.write(self.style.SUCCESS(f"{backend.name}: {written} listings indexed{where}"))
            except SearchUnavailable as exc:
                # e.g. "elasticsearch: content type refused (ApiError(406, …)). The engine refuses
                # … Set SEARCH_PLAIN_JSON=1." rather than a traceback.
                explanation = f" {exc.hint}" if exc.hint else ""
                raise CommandError(f"{backend.name}: {exc.cause} ({str(exc)[:300]}).{explanation}") from exc
