from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from marketplace import auth_backends, deploy_checks, page_cache, personal_parts  # noqa: F401  (they register checks and parts)

        page_cache.connect()
        auth_backends.connect()
