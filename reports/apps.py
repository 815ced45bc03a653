from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports (PDF, Grad-CAM heat maps)"

    def ready(self) -> None:
        from . import signals  # noqa: F401 -- connects the file clean-up receiver
