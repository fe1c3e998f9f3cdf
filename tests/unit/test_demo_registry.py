"""`seed_demo` runs the demo steps every app declares on its AppConfig, in order; the
command itself names no app (the import-linter contracts in `make lint` keep it so)."""

from __future__ import annotations

from marketplace.demo_registry import demo_seeder_paths, demo_seeders


def test_each_app_declares_its_demo_steps_and_they_run_in_order():
    assert demo_seeder_paths() == [
        "marketplace.consignment.demo.seed_consignment_agreement_demo",
        "marketplace.demo.seed_marketplace_demo",
        "wipe_cert.demo.seed_erasure_demo",
        "grading.demo.seed_grading_demo",
        "cms.demo.seed_cms_demo",
        "marketplace.demo.seed_order_demo",
        "marketplace.consignment.demo.seed_consignment_demo",
        "grading.demo.seed_consignment_grades_demo",
        "marketplace.credit.demo.seed_credit_demo",
        "marketplace.city.demo.seed_city_demo",
    ]
    assert all(callable(seeder) for seeder in demo_seeders())


def test_a_new_app_adds_a_step_where_its_position_says(monkeypatch):
    from django.apps import apps

    config = apps.get_app_config("search")
    monkeypatch.setattr(config, "demo_seeders", ((55, "search.demo.seed_search_demo"),), raising=False)
    paths = demo_seeder_paths()
    assert paths.index("search.demo.seed_search_demo") == paths.index("cms.demo.seed_cms_demo") + 1
