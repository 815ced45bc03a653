"""python manage.py build_dataset -- cache every annotated beat of the MIT-BIH records."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecg.io.records import RecordError, download_mitdb, resolve_data_dir
from ecg.training.dataset import build_beat_table, save_beat_table

DEFAULT_CACHE = Path("build/beats_mlii.npz")


def data_dir_from(options: dict) -> Path:
    """--data-dir, or ../shared/data/mitdb, or a fresh PhysioNet download with --download."""
    try:
        if options.get("download"):
            return download_mitdb(options.get("data_dir") or "build/mitdb")
        return resolve_data_dir(options.get("data_dir"))
    except RecordError as exc:
        raise CommandError(str(exc)) from exc


def add_data_arguments(parser) -> None:
    parser.add_argument(
        "--data-dir",
        help="WFDB directory of MIT-BIH (default: $ECG_DATA_DIR or ../shared/data/mitdb)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="fetch MIT-BIH from PhysioNet into --data-dir (default build/mitdb); needs internet",
    )


class Command(BaseCommand):
    help = (
        "Cut every annotated beat (wide windows, RR features, labels, record names) out of the "
        "MIT-BIH records and cache them as one .npz for training."
    )

    def add_arguments(self, parser) -> None:
        add_data_arguments(parser)
        parser.add_argument("--out", default=str(DEFAULT_CACHE), help="cache file (.npz)")
        parser.add_argument("--records", nargs="*", help="record names (default: all non-paced)")
        parser.add_argument("--lead", default="MLII", help="lead name (default MLII)")

    def handle(self, *args, **options) -> None:
        data_dir = data_dir_from(options)
        started = time.perf_counter()
        try:
            table = build_beat_table(
                data_dir, options["records"], lead=options["lead"], progress=self.stdout.write
            )
        except RecordError as exc:
            raise CommandError(str(exc)) from exc
        path = save_beat_table(table, options["out"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(table)} beats from {len(set(table.records.tolist()))} records -> {path} "
                f"in {time.perf_counter() - started:.1f} s"
            )
        )
