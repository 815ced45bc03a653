"""Convert every ``models/*.keras`` into a verified LiteRT file for low-memory serving, and
export its Grad-CAM (LiteRT view + NumPy head) so heat maps need no TensorFlow either."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ecg.models.gradcam_head import HeadError
from ecg.models.lite_runtime import (
    LiteExportError,
    export_gradcam,
    export_lite,
    lite_is_fresh,
    lite_refused,
)
from ecg.models.registry import ModelRegistry


class Command(BaseCommand):
    help = (
        "Convert models/<name>.keras to models/<name>.tflite (checked against Keras on random "
        "inputs) so the web app can serve it without TensorFlow, and export its Grad-CAM "
        "(models/<name>.gradcam.tflite + .gradcam.npz, checked against the Keras heat maps) "
        "so heat maps need no TensorFlow either. A recording model also gets an int8 "
        "conversion (models/<name>.int8.tflite, RECORDING_MODEL_PRECISION=int8). Up-to-date "
        "files are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--models-dir", default=None, help="default: settings.MODELS_DIR")
        parser.add_argument("--force", action="store_true", help="convert even if up to date")

    def handle(self, *args, models_dir=None, force=False, **options):
        registry = ModelRegistry(Path(models_dir or settings.MODELS_DIR))
        directory, paths = registry.models_dir, registry.model_files()
        if not paths:
            self.stdout.write(f"No *.keras models in {directory}; nothing to convert.")
            return
        tasks = {entry.path: entry.task for entry in registry.installed()}
        failed = []
        for path in paths:
            if not force and registry.lite_is_fresh(path):
                self.stdout.write(f"{path.name}: LiteRT file up to date")
            elif self._convert(path):
                failed.append(path.name)
                continue  # an unusable model: its Grad-CAM export would fail the same way
            if tasks.get(path) == "recording":
                self._convert_int8(path, force)  # optional: float32 serves without it
            if not force and registry.gradcam_is_fresh(path):
                self.stdout.write(f"{path.name}: LiteRT Grad-CAM up to date")
            elif self._export_gradcam(path):
                failed.append(f"{path.name} (Grad-CAM)")
        if failed:
            raise CommandError(f"not converted: {', '.join(failed)}")

    def _convert(self, path: Path) -> bool:
        """True if it failed."""
        try:
            info = export_lite(path)
        except (LiteExportError, Exception) as exc:  # one bad model must not stop the rest
            self.stderr.write(f"{path.name}: not converted ({exc}); it will run in Keras")
            return True
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: converted, max |LiteRT - Keras| = {info['max_abs_diff']:.1e}"
            )
        )
        return False

    def _convert_int8(self, path: Path, force: bool) -> None:
        """The int8 conversion a recording model may be served from (RECORDING_MODEL_PRECISION).
        A model whose int8 conversion strays too far is served in float32: a warning only."""
        if not force and lite_is_fresh(path, "int8"):
            self.stdout.write(f"{path.name}: int8 LiteRT file up to date")
            return
        refused = None if force else lite_refused(path, "int8")
        if refused:
            self.stdout.write(f"{path.name}: no int8 conversion ({refused}); float32 serves")
            return
        try:
            info = export_lite(path, precision="int8")
        except (LiteExportError, Exception) as exc:  # one bad model must not stop the rest
            self.stderr.write(
                self.style.WARNING(f"{path.name}: no int8 conversion ({exc}); float32 serves")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: int8 conversion, max |LiteRT - Keras| = {info['max_abs_diff']:.1e}"
            )
        )

    def _export_gradcam(self, path: Path) -> bool:
        """True if it failed; a layer the NumPy head does not know is a notice, not a failure
        (that model's heat maps keep the Keras path, as before)."""
        try:
            info = export_gradcam(path)
        except HeadError as exc:
            self.stdout.write(
                self.style.WARNING(f"{path.name}: no LiteRT Grad-CAM ({exc}); heat maps use Keras")
            )
            return False
        except Exception as exc:  # a mismatch or a broken file: a bug worth failing on
            self.stderr.write(f"{path.name}: Grad-CAM not exported ({exc}); heat maps use Keras")
            return True
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: Grad-CAM exported, max |LiteRT - Keras| = "
                f"{info['max_abs_diff_heat_maps']:.1e} on heat maps"
            )
        )
        return False
