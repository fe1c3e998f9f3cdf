from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "marketplace.credit"
    label = "credit"
    verbose_name = _("Credit")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeders = ((90, "marketplace.credit.demo.seed_credit_demo"),)

    def ready(self) -> None:
        from marketplace.credit import deploy_checks, receivers  # noqa: F401  (deploy_checks registers checks)

        receivers.connect()
