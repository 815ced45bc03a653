"""Shared fixtures: synthetic WFDB records (written with wfdb.wrsamp / wrann) and MIT-BIH."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecg.io.records import SHARED_MITDB

FS = 360
# A model that trains in a second on the tiny synthetic tables: one epoch, a few beats per class.
TINY_TRAINING = {"max_epochs": 1, "cap": 64, "floor": 16, "batch_size": 32}


def synthetic_ecg(n_beats: int = 40, seed: int = 0, fs: int = FS):
    """A lead in mV with narrow 'N' beats and every fifth beat a wide, early 'V' beat."""
    rng = np.random.default_rng(seed)
    peaks, symbols, t = [], [], int(0.8 * fs)
    for i in range(n_beats):
        premature = i % 5 == 4
        t += int((0.55 if premature else 0.8) * fs)
        peaks.append(t)
        symbols.append("V" if premature else "N")
    n = t + int(1.0 * fs)
    x = np.arange(n) / fs
    sig = 0.02 * rng.standard_normal(n)
    for p, s in zip(peaks, symbols, strict=True):
        width = 0.03 if s == "V" else 0.012
        height = -1.2 if s == "V" else 1.5
        sig += height * np.exp(-(((x - p / fs) / width) ** 2))
        sig += 0.2 * np.exp(-(((x - p / fs - 0.25) / 0.04) ** 2))  # T wave
    return sig.astype(np.float64), np.array(peaks), np.array(symbols)


def write_record(directory: Path, name: str, n_beats: int = 40, seed: int = 0) -> None:
    import wfdb

    sig, peaks, symbols = synthetic_ecg(n_beats, seed)
    wfdb.wrsamp(
        name,
        fs=FS,
        units=["mV"],
        sig_name=["MLII"],
        p_signal=sig[:, None],
        fmt=["16"],
        write_dir=str(directory),
    )
    wfdb.wrann(name, "atr", peaks, list(symbols), write_dir=str(directory))


def tiny_inter_patient_table(directory: Path):
    """Three synthetic records of 60 beats named like a DS1 training (101), a DS1 validation
    (106) and a DS2 test (100) record: (beat table, six-class labels, inter-patient split)."""
    from ecg.training import dataset, pipeline

    for name, seed in (("101", 0), ("106", 2), ("100", 1)):
        write_record(directory, name, n_beats=60, seed=seed)
    table = dataset.build_beat_table(directory, ["100", "101", "106"])
    return table, table.labels("six"), pipeline.make_splits(table)["inter"]


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    """Two synthetic records, named like DS1 (101) and DS2 (100) records."""
    for name, seed in (("101", 0), ("100", 1)):
        write_record(tmp_path, name, seed=seed)
    (tmp_path / "RECORDS").write_text("100\n101\n")
    return tmp_path


@pytest.fixture
def mitdb() -> Path:
    if not (SHARED_MITDB / "100.hea").is_file():
        pytest.skip(f"MIT-BIH not found at {SHARED_MITDB}")
    return SHARED_MITDB
