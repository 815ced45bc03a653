"""python manage.py export_beat_images -- write the Dataset/train, Dataset/test image layout."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from ecg.classes import DS1_RECORDS, DS2_RECORDS
from ecg.features.beats import POST_S, PRE_S
from ecg.imaging import representations
from ecg.io.image_folder import export_images
from ecg.io.records import RecordError, list_records
from ecg.training.dataset import build_beat_table

from .build_dataset import add_data_arguments, data_dir_from


class Command(BaseCommand):
    help = (
        "Render MIT-BIH beats as images in class-named folders: <out>/train/<class>/*.png from "
        "DS1 records and <out>/test/<class>/*.png from DS2 records (the original project's "
        "Dataset/train, Dataset/test layout; '!' is written as the folder VF). The images are "
        "exactly what the models see, so they can be uploaded or used with "
        "train_model --image-folder."
    )

    def add_arguments(self, parser) -> None:
        add_data_arguments(parser)
        parser.add_argument("--out", default="Dataset", help="output folder (default Dataset)")
        parser.add_argument(
            "--kind", default="beat_image", choices=sorted(representations.REPRESENTATIONS)
        )
        parser.add_argument(
            "--per-class",
            type=int,
            default=500,
            help="at most this many images per class and side (0: all)",
        )
        parser.add_argument("--records", nargs="*", help="only these records")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options) -> None:
        data_dir = data_dir_from(options)
        started = time.perf_counter()
        try:
            # default: every DS1/DS2 record present in the data directory
            available = set(list_records(data_dir))
            records = options["records"] or sorted(available & set(DS1_RECORDS + DS2_RECORDS))
            table = build_beat_table(data_dir, records, progress=self.stdout.write)
        except RecordError as exc:
            raise CommandError(str(exc)) from exc
        labels = table.labels("six")
        rng = np.random.default_rng(options["seed"])
        total = 0
        for side, side_records in (("train", DS1_RECORDS), ("test", DS2_RECORDS)):
            chosen = []
            for c in np.unique(labels[labels >= 0]):
                members = np.flatnonzero((labels == c) & np.isin(table.records, side_records))
                if options["per_class"] and len(members) > options["per_class"]:
                    members = np.sort(rng.choice(members, options["per_class"], replace=False))
                chosen.append(members)
            index = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
            if not len(index):
                continue
            windows = table.subset(index).crop(PRE_S, POST_S)
            images = representations.render(options["kind"], windows, table.fs)
            names = [f"{table.records[i]}_{i:06d}" for i in index]
            total += export_images(images, labels[index], names, Path(options["out"]) / side)
            self.stdout.write(f"{side}: {len(index)} images")
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} {options['kind']} images in {options['out']} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        )
