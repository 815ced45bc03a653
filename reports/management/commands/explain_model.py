"""``python manage.py explain_model [NAME ...]``: average Grad-CAM maps per class on test beats.

Writes ``<MODELS_DIR>/<name>.gradcam.png`` and ``.gradcam.json`` for each model and rebuilds
``<MODELS_DIR>/EXPLAIN.md`` from all summaries, so the pipeline's report can link them.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ecg.io.records import RecordError, resolve_data_dir
from ecg.models.bundle import BundleError, load_bundle
from ecg.models.explain import ExplainError
from ecg.models.registry import ModelRegistry
from ecg.training.explain_report import explain_markdown, write_model_explanation


class Command(BaseCommand):
    help = "Average Grad-CAM heat maps per class on a model's test beats (MIT-BIH)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="model names (default: every models/*.keras)")
        parser.add_argument("--models-dir", default=None, help="default: settings.MODELS_DIR")
        parser.add_argument("--data-dir", default=None, help="MIT-BIH folder (default: shared)")
        parser.add_argument(
            "--records", default="", help="comma-separated records (default: the model's test set)"
        )
        parser.add_argument("--max-per-class", type=int, default=300)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        models_dir = Path(options["models_dir"] or settings.MODELS_DIR)
        names = options["names"] or ModelRegistry(models_dir).names()
        if not names:
            raise CommandError(f"no models (*.keras) in {models_dir}")
        if options["max_per_class"] < 1:
            raise CommandError("--max-per-class must be at least 1")
        records = [r.strip() for r in options["records"].split(",") if r.strip()] or None
        try:
            data_dir = resolve_data_dir(options["data_dir"])
            for name in names:
                bundle = load_bundle(models_dir / f"{name}.keras")
                png, summary = write_model_explanation(
                    bundle,
                    models_dir,
                    data_dir,
                    records=records,
                    max_per_class=options["max_per_class"],
                    seed=options["seed"],
                )
                self.stdout.write(f"{name}: wrote {png.name} and {summary.name}")
        except (BundleError, RecordError, ExplainError) as exc:
            raise CommandError(str(exc)) from exc
        (models_dir / "EXPLAIN.md").write_text(explain_markdown(models_dir))
        self.stdout.write(self.style.SUCCESS(f"wrote {models_dir / 'EXPLAIN.md'}"))
