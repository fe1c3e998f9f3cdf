from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsignmentConfig(AppConfig):
    name = "marketplace.consignment"
    label = "consignment"
    verbose_name = _("Consignment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from marketplace.consignment import receivers
        from marketplace.signals import order_completed

        order_completed.connect(receivers.on_order_completed, dispatch_uid="consignment_order_completed")
