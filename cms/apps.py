from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Community pages")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeders = ((50, "cms.demo.seed_cms_demo"),)

    def ready(self) -> None:
        from cms import page_cache

        page_cache.connect()
