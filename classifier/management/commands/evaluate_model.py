"""python manage.py evaluate_model -- re-evaluate the shipped models from the WFDB records."""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from django.conf import settings  # noqa: E402
from django.core.management.base import BaseCommand, CommandError

from ecg.io.records import RecordError
from ecg.models.bundle import BundleError
from ecg.training import pipeline

from .build_dataset import add_data_arguments, data_dir_from


class Command(BaseCommand):
    help = (
        "Rebuild the beats from the WFDB records and re-evaluate every model in models/ on both "
        "splits (and the original CNN if its weights are in --runs-dir); rewrite "
        "models/*.metrics.json, the confusion-matrix PNGs and models/REPORT.md, print how far "
        "the figures moved from the files already there, and with --update-docs regenerate "
        "the model-performance page of the docs (docs/model-performance.md)."
    )

    def add_arguments(self, parser) -> None:
        add_data_arguments(parser)
        parser.add_argument("--models-dir", default=str(settings.MODELS_DIR))
        parser.add_argument(
            "--runs-dir",
            default="build/runs",
            help="training runs (for the baseline's weights and model choice)",
        )
        parser.add_argument(
            "--report-only",
            action="store_true",
            help="only rewrite REPORT.md (and docs/model-performance.md with --update-docs) from "
            "the metrics files already in --models-dir",
        )
        parser.add_argument(
            "--only",
            nargs="+",
            metavar="NAME",
            help="evaluate only these models (e.g. recording_two_lead): the other metrics files "
            "and the last full run's evaluation.json stay; REPORT.md is rewritten from all",
        )
        parser.add_argument(
            "--update-docs",
            action="store_true",
            help="rewrite docs/model-performance.md between its generated-block markers",
        )

    def handle(self, *args, **options) -> None:
        page = Path(settings.BASE_DIR, "docs", "model-performance.md")
        readme = page if options["update_docs"] else None
        if options["report_only"]:
            try:
                pipeline.render_reports(options["models_dir"], readme)
            except FileNotFoundError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS("REPORT.md rewritten from the metrics files"))
            return
        data_dir = data_dir_from(options)
        started = time.perf_counter()
        runs_dir = Path(options["runs_dir"])
        try:
            metrics = pipeline.evaluate_models(
                data_dir,
                options["models_dir"],
                runs_dir,
                readme=readme,
                only=options["only"],
                progress=self.stdout.write,
            )
        except (RecordError, BundleError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        evaluated = ", ".join(options["only"] or metrics)
        self.stdout.write(
            self.style.SUCCESS(
                f"evaluated {evaluated} in {time.perf_counter() - started:.0f} s; "
                f"report: {Path(options['models_dir']) / 'REPORT.md'}"
            )
        )
