from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from grading.services import ruleset_load_shipped


class Command(BaseCommand):
    help = "Load the rule sets in grading/rulesets/*.yaml (new versions are published)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--draft", action="store_true", help="create new versions as drafts")

    def handle(self, *args: Any, **options: Any) -> None:
        for version in ruleset_load_shipped(publish=not options["draft"]):
            self.stdout.write(f"{version.key} {version.version} {version.status} {version.content_hash[:12]}")
