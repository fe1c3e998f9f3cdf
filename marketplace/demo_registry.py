"""The steps of `manage.py seed_demo`, declared by the apps that own them.

The core names no plug-in app: each app's AppConfig lists its demo steps as
`demo_seeders = ((position, "dotted.path.to.seeder"), ...)`, and the command runs every
installed app's steps in order of position (ties by path). A seeder takes the command's
`stdout` and must be idempotent. Positions in use (gaps leave room):

| position | step |
|---|---|
| 10 | consignment agreement (before the shop's listings that name its consignor) |
| 20 | listings, photos, moderation examples |
| 30 | erasure certificates |
| 40 | grades, publication, the appraisal queue |
| 50 | CMS pages (events, flea market, shop, consignment sale, book swap) |
| 60 | orders and an offer |
| 70 | consigned items |
| 80 | grades of the consigned books |
| 90 | credit records |
| 100 | city data (last: its statistics cover the orders seeded before it) |"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.utils.module_loading import import_string

Seeder = Callable[[Any], None]


def demo_seeder_paths() -> list[str]:
    """Every installed app's demo steps, in the order they run."""
    steps: list[tuple[int, str]] = []
    for config in apps.get_app_configs():
        steps.extend((int(position), str(path)) for position, path in getattr(config, "demo_seeders", ()))
    return [path for _position, path in sorted(steps)]


def demo_seeders() -> list[Seeder]:
    return [import_string(path) for path in demo_seeder_paths()]
