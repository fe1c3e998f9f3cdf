from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = _("Grading and appraisal")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeders = ((40, "grading.demo.seed_grading_demo"), (80, "grading.demo.seed_consignment_grades_demo"))

    def ready(self) -> None:
        from grading import receivers

        receivers.connect()
