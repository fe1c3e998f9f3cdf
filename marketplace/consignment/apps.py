from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsignmentConfig(AppConfig):
    name = "marketplace.consignment"
    label = "consignment"
    verbose_name = _("Consignment")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeders = (
        (10, "marketplace.consignment.demo.seed_consignment_agreement_demo"),
        (70, "marketplace.consignment.demo.seed_consignment_demo"),
    )

    def ready(self) -> None:
        from marketplace.consignment import receivers
        from marketplace.signals import order_completed

        order_completed.connect(receivers.on_order_completed, dispatch_uid="consignment_order_completed")
