from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CityConfig(AppConfig):
    """City-facing data: trade statistics and the bureau report, green-account factors,
    vehicle relocation (限迁) rules."""

    name = "marketplace.city"
    label = "city"
    verbose_name = _("City data")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeders = ((100, "marketplace.city.demo.seed_city_demo"),)
