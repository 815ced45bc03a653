"""python manage.py train_mixed -- build the shipped recording model (MIT-BIH + PTB-XL)."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from django.conf import settings  # noqa: E402
from django.core.management.base import BaseCommand, CommandError

from ecg.io.ptbxl import default_ptbxl_dir, download_ptbxl
from ecg.io.records import RecordError
from ecg.training import mixed_pipeline

from .build_dataset import add_data_arguments, data_dir_from

# --ship refuses a model whose validation macro-F1 is more than this below the shipped one's
# (seed noise on the pooled validation figure is ~0.01 SD: docs/mixed-training.md)
SHIP_TOLERANCE = 0.02


class Command(BaseCommand):
    help = (
        "Build the recording model recording_mixed from MIT-BIH DS1 and PTB-XL folds 1-8: the "
        "mixed table, one mixed_spec_ctx_v2 model per seed, their ensemble, its validation "
        "figures, its calibration, the bundle. Writes to --out (default build/train_mixed, "
        "build/train_mixed_quick with --quick); --ship copies the bundle into models/. "
        "--quick: a few records and patients, one seed, two short epochs (checks the set-up)."
    )

    def add_arguments(self, parser) -> None:
        add_data_arguments(parser)
        parser.add_argument(
            "--ptbxl-dir",
            help="PTB-XL folder (ptbxl_database.csv, records100/; default: $PTBXL_DIR or "
            "../shared/data/ptbxl). With --download, PTB-XL 1.0.1 (tables and 100 Hz "
            "records) is fetched there too, skipping files already there.",
        )
        parser.add_argument("--out", help="output folder (default build/train_mixed[_quick])")
        parser.add_argument(
            "--quick", action="store_true", help="small subset, one seed, two epochs"
        )
        parser.add_argument("--epochs", type=int, help="override the maximum number of epochs")
        parser.add_argument("--seeds", nargs="+", type=int, help="override the seeds (0 1 2)")
        parser.add_argument(
            "--ship",
            action="store_true",
            help=f"copy the bundle to models/{mixed_pipeline.SHIPPED_NAME}.* (not with --quick)",
        )
        parser.add_argument("--models-dir", default=str(settings.MODELS_DIR))
        parser.add_argument(
            "--force",
            action="store_true",
            help="ship even when validation macro-F1 is below the shipped model's",
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        if options["quick"] and options["ship"]:
            raise CommandError("--quick builds a set-up check, never a model to ship")
        mitdb_dir = data_dir_from(options)
        ptbxl_dir = Path(options["ptbxl_dir"]) if options["ptbxl_dir"] else default_ptbxl_dir()
        if options.get("download"):
            try:
                ptbxl_dir = download_ptbxl(ptbxl_dir, progress=self.stdout.write)
            except RecordError as exc:
                raise CommandError(str(exc)) from exc
        if ptbxl_dir is None or not (ptbxl_dir / "ptbxl_database.csv").is_file():
            where = ptbxl_dir or "../shared/data/ptbxl (or $PTBXL_DIR)"
            raise CommandError(
                f"PTB-XL not found at {where}: get PTB-XL 1.0.1 from PhysioNet "
                "(https://physionet.org/content/ptb-xl/1.0.1/, ptbxl_database.csv and "
                "records100/) and pass --ptbxl-dir, or use --download"
            )
        plan = mixed_pipeline.QUICK if options["quick"] else mixed_pipeline.SHIPPED_PLAN
        if options["epochs"]:
            plan = replace(plan, epochs=options["epochs"])
        if options["seeds"]:
            plan = replace(plan, seeds=tuple(options["seeds"]))
        default_out = "build/train_mixed_quick" if options["quick"] else "build/train_mixed"
        out = Path(options["out"] or default_out)
        # the quick subset's tables live with its output; the full run shares the benchmark's
        cache_dir = out / "tables" if options["quick"] else None
        try:
            run = mixed_pipeline.build(
                mitdb_dir, ptbxl_dir, out, plan, cache_dir=cache_dir, progress=self.stdout.write
            )
        except (RecordError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self._summary(run)
        if options["ship"]:
            self._ship(run, Path(options["models_dir"]), options["force"])
        self.stdout.write(
            self.style.SUCCESS(f"{run['model']}; total {time.perf_counter() - started:.0f} s")
        )

    def _summary(self, run: dict) -> None:
        v = run["validation"]
        parts = [f"{k} {v[k]['macro_f1']:.3f}" for k in ("all", "mitdb", "ptbxl") if k in v]
        cal = run["calibration"]
        self.stdout.write(
            f"validation macro-F1 {', '.join(parts)} (members "
            f"{', '.join(f'{x:.3f}' for x in run['member_validation_macro_f1'])}); "
            f"calibration {cal['rule']} T={cal['temperature']:.3f}, "
            f"uncertain below {cal['uncertain_below']:.3f}"
        )

    def _ship(self, run: dict, models_dir: Path, force: bool) -> None:
        name = mixed_pipeline.SHIPPED_NAME
        source = Path(run["model"])
        shipped = models_dir / f"{name}.json"
        if shipped.is_file() and not force:
            before = json.loads(shipped.read_text())["training"]["best_validation_macro_f1"]
            if run["validation_macro_f1"] < before - SHIP_TOLERANCE:
                raise CommandError(
                    f"validation macro-F1 {run['validation_macro_f1']:.4f} is below the shipped "
                    f"model's {before:.4f}; models/ left untouched (--force ships it anyway)"
                )
        models_dir.mkdir(parents=True, exist_ok=True)
        for suffix in (".keras", ".json"):
            shutil.copyfile(source.with_suffix(suffix), models_dir / f"{name}{suffix}")
        self.stdout.write(
            f"shipped to {models_dir}/{name}.keras; next: `python manage.py export_lite_models` "
            "and `python manage.py evaluate_model --update-docs`; the test figures in "
            f"{name}.external.json no longer match (benchmarks/ptbxl_mixed_eval.py --seeds 0 1 2 "
            "and benchmarks/ptbxl_mixed_ship.py --external-only renew them)"
        )
