"""What every recording parser shares: the parsed recording, the format error, units, and a
private folder for readers that want paths (``recording_io`` dispatches to the parsers)."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

UNITS_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}


# Uploads read as a rhythm-strip image (``recording_image``).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class RecordingFormatError(ValueError):
    """The upload is not a readable recording; the message names the file and the problem."""


@dataclass
class ParsedRecording:
    """All leads of an uploaded recording in mV at ``fs``, the chosen lead, annotations if any."""

    name: str
    format: str  # "wfdb", "csv" or "edf"
    fs: float
    lead_names: list[str]
    signals: np.ndarray  # (n_leads, n_samples) float32, mV
    lead_index: int
    source_files: list[str]
    ann_samples: np.ndarray | None = None  # reference beat samples (beat symbols only)
    ann_symbols: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "bridged 3 gaps of missing samples"

    @property
    def lead(self) -> str:
        return self.lead_names[self.lead_index]

    @property
    def signal(self) -> np.ndarray:
        return self.signals[self.lead_index]

    @property
    def second_lead(self) -> np.ndarray | None:
        others = [i for i in range(len(self.lead_names)) if i != self.lead_index]
        return self.signals[others[0]] if others else None

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    @property
    def has_reference(self) -> bool:
        return self.ann_samples is not None and len(self.ann_samples) > 0


def unit_factor(unit: str | None, where: str) -> float:
    key = (unit or "mV").strip().lower()
    if key not in UNITS_TO_MV:
        raise RecordingFormatError(
            f"{where}: signal unit {unit!r} is not a voltage (mV, uV or V expected)"
        )
    return UNITS_TO_MV[key]


@contextlib.contextmanager
def private_folder(named: dict[str, bytes]):
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as folder:
        for name, content in named.items():
            (Path(folder) / name).write_bytes(content)
        yield Path(folder)
