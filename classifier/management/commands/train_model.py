"""python manage.py train_model -- train, choose, ship and evaluate the models."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from django.conf import settings  # noqa: E402
from django.core.management.base import BaseCommand, CommandError

from ecg.io.image_folder import read_images
from ecg.io.records import RecordError
from ecg.models.bundle import save_bundle
from ecg.training import pipeline
from ecg.training.training import ModelConfig, train_on_images

from .build_dataset import DEFAULT_CACHE, add_data_arguments, data_dir_from

# --quick: a few records that still hold every class (DS1 train/validation, DS2 test).
QUICK_RECORDS = ["101", "106", "118", "119", "207", "209", "100", "212", "214", "232"]


class Command(BaseCommand):
    help = (
        "Train every model configuration (ours and the original CNN baseline) on the "
        "intra-patient and inter-patient splits, choose the recording model by inter-patient "
        "validation macro-F1, copy the chosen bundles to models/ and evaluate them "
        "(models/*.metrics.json, models/REPORT.md). --quick trains one small model on a few "
        "records to check the set-up; --image-folder trains an image model from class folders."
    )

    def add_arguments(self, parser) -> None:
        add_data_arguments(parser)
        parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="beat cache (.npz)")
        parser.add_argument("--runs-dir", default="build/runs", help="where every run is saved")
        parser.add_argument("--models-dir", default=str(settings.MODELS_DIR))
        parser.add_argument("--only", nargs="*", help="train only these configurations")
        parser.add_argument(
            "--splits", nargs="*", default=["inter", "intra"], choices=["inter", "intra"]
        )
        parser.add_argument("--epochs", type=int, help="override the maximum number of epochs")
        parser.add_argument(
            "--quick",
            action="store_true",
            help="a few records, one model, two epochs (checks the set-up)",
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="keep runs already saved in --runs-dir (e.g. after an interruption, or runs "
            "trained elsewhere) and train only the missing ones",
        )
        parser.add_argument(
            "--no-ship", action="store_true", help="train only; leave models/ untouched"
        )
        parser.add_argument(
            "--image-folder", help="train an image model from <folder>/<class>/*.png instead"
        )
        parser.add_argument(
            "--kind",
            default="beat_image",
            choices=["beat_image", "spectrogram"],
            help="representation of the images in --image-folder",
        )
        parser.add_argument("--name", default="folder_cnn", help="model name for --image-folder")

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        if options["image_folder"]:
            return self._train_from_folder(options, started)
        data_dir = data_dir_from(options)
        candidates = pipeline.CANDIDATES
        if options["only"]:
            candidates = pipeline.CANDIDATES + pipeline.ON_REQUEST  # trained only when named
            known = {c.config.name for c in candidates}
            unknown = set(options["only"]) - known
            if unknown:
                raise CommandError(
                    f"unknown configuration(s) {sorted(unknown)}; choose from {sorted(known)}"
                )
            candidates = tuple(c for c in candidates if c.config.name in options["only"])
        overrides = {"max_epochs": options["epochs"]} if options["epochs"] else {}
        cache, runs_dir, splits = options["cache"], Path(options["runs_dir"]), options["splits"]
        if options["quick"]:
            cache, runs_dir, splits = "build/quick/beats.npz", Path("build/quick/runs"), ["inter"]
            if not options["only"]:
                candidates = tuple(c for c in candidates if c.config.name == "recording_spec_ctx")
            overrides = {"max_epochs": options["epochs"] or 2, "cap": 600, "floor": 200}
        try:
            table = pipeline.get_table(
                data_dir, cache, QUICK_RECORDS if options["quick"] else None, self.stdout.write
            )
        except RecordError as exc:
            raise CommandError(str(exc)) from exc
        records = pipeline.train_all(
            table,
            runs_dir,
            candidates=candidates,
            splits=tuple(splits),
            overrides=overrides,
            skip_existing=options["resume"],
            progress=self.stdout.write,
        )
        runs_dir.mkdir(parents=True, exist_ok=True)
        (runs_dir / "records.json").write_text(json.dumps(records, indent=1) + "\n")
        self.stdout.write(f"training took {time.perf_counter() - started:.0f} s")
        if options["quick"] or options["no_ship"]:
            self.stdout.write(self.style.SUCCESS(f"trained models are in {runs_dir}"))
            return
        names = pipeline.ship(runs_dir, options["models_dir"], progress=self.stdout.write)
        pipeline.evaluate_models(
            data_dir,
            options["models_dir"],
            runs_dir,
            readme=Path(settings.BASE_DIR, "docs", "model-performance.md"),
            progress=self.stdout.write,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"shipped {', '.join(names)}; total {time.perf_counter() - started:.0f} s"
            )
        )

    def _train_from_folder(self, options: dict, started: float) -> None:
        config = ModelConfig(options["name"], options["kind"])
        if options["epochs"]:
            config.max_epochs = options["epochs"]
        try:
            images, labels = read_images(
                options["image_folder"],
                size=config.image_size,
                kind=config.representation,
                progress=self.stdout.write,
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        model, record = train_on_images(
            config,
            images,
            labels,
            6,
            work_dir=Path(options["runs_dir"]) / "checkpoints",
            progress=self.stdout.write,
        )
        candidate = pipeline.Candidate(config, "image", options["kind"])
        meta = pipeline.metadata_for(candidate, record, _FolderTable())
        path = save_bundle(model, meta, Path(options["runs_dir"]) / "folder" / config.name)
        self.stdout.write(
            self.style.SUCCESS(
                f"{path} (validation macro-F1 {record['best_validation_macro_f1']:.3f}) in "
                f"{time.perf_counter() - started:.0f} s"
            )
        )


class _FolderTable:
    lead = "unknown (image folder)"
