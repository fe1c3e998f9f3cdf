from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")
    default_auto_field = "django.db.models.BigAutoField"
    # Demo steps for `seed_demo` (marketplace.demo_registry has the order).
    demo_seeders = ((20, "marketplace.demo.seed_marketplace_demo"), (60, "marketplace.demo.seed_order_demo"))

    def ready(self) -> None:
        from marketplace import auth_backends, deploy_checks, page_cache, personal_parts  # noqa: F401  (they register checks and parts)

        page_cache.connect()
        auth_backends.connect()
