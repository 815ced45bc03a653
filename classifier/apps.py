from django.apps import AppConfig
from django.core.signals import setting_changed


def _reset_model_registry(*, setting: str, **kwargs) -> None:
    from classifier.model_registry import REGISTRY_SETTINGS, reset_model_registry

    if setting in REGISTRY_SETTINGS:
        reset_model_registry()


class ClassifierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "classifier"
    verbose_name = "ECG classifier"

    def ready(self) -> None:
        # Tests (and override_settings) switch MODELS_DIR; the registry must follow.
        setting_changed.connect(_reset_model_registry, dispatch_uid="classifier_models_dir")
        from . import signals  # noqa: F401 -- connects the image file clean-up
