from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recordings"
    verbose_name = "Whole recordings"

    def ready(self) -> None:
        from . import signals  # noqa: F401 -- connects the file clean-up
