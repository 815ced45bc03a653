from django.apps import AppConfig
from django.core.signals import setting_changed


def _reset_model_service(*, setting: str, **kwargs) -> None:
    if setting in ("MODELS_DIR", "IMAGE_MODELS", "MODEL_RUNTIME"):
        from classifier.model_service import get_model_service

        get_model_service.cache_clear()


class ClassifierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "classifier"
    verbose_name = "ECG classifier"

    def ready(self) -> None:
        # Tests (and override_settings) switch MODELS_DIR; the singleton must follow.
        setting_changed.connect(_reset_model_service, dispatch_uid="classifier_models_dir")
        from . import signals  # noqa: F401 -- connects the image file clean-up
