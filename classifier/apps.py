from django.apps import AppConfig


class ClassifierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "classifier"
    verbose_name = "ECG classifier"

    def ready(self) -> None:
        from . import signals  # noqa: F401 -- connects the image file clean-up
