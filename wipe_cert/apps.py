from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WipeCertConfig(AppConfig):
    name = "wipe_cert"
    verbose_name = _("Data-erasure certificates")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeders = ((30, "wipe_cert.demo.seed_erasure_demo"),)

    def ready(self) -> None:
        from wipe_cert import deploy_checks, page_cache  # noqa: F401  (deploy_checks registers checks)

        page_cache.connect()
