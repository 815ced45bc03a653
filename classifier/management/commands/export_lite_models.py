"""Convert every ``models/*.keras`` into a verified LiteRT file for low-memory serving."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.lite_runtime import LiteExportError, export_lite, lite_is_fresh


class Command(BaseCommand):
    help = (
        "Convert models/<name>.keras to models/<name>.tflite (checked against Keras on random "
        "inputs) so the web app can serve it without TensorFlow. Up-to-date files are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--models-dir", default=None, help="default: settings.MODELS_DIR")
        parser.add_argument("--force", action="store_true", help="convert even if up to date")

    def handle(self, *args, models_dir=None, force=False, **options):
        directory = Path(models_dir or settings.MODELS_DIR)
        paths = sorted(directory.glob("*.keras"))
        if not paths:
            self.stdout.write(f"No *.keras models in {directory}; nothing to convert.")
            return
        failed = []
        for path in paths:
            if not force and lite_is_fresh(path):
                self.stdout.write(f"{path.name}: LiteRT file up to date")
                continue
            try:
                info = export_lite(path)
            except (LiteExportError, Exception) as exc:  # one bad model must not stop the rest
                failed.append(path.name)
                self.stderr.write(f"{path.name}: not converted ({exc}); it will run in Keras")
                continue
            self.stdout.write(
                self.style.SUCCESS(
                    f"{path.name}: converted, max |LiteRT - Keras| = {info['max_abs_diff']:.1e}"
                )
            )
        if failed:
            raise CommandError(f"not converted: {', '.join(failed)}")
