"""Synthetic ECG signals and WFDB files written by the tests themselves (no MIT-BIH data)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np


def beat_times(duration_s: float, rr_s: float = 0.8, premature_every: int = 0) -> np.ndarray:
    """Beat times (s); every ``premature_every``-th beat comes 35% early (an ectopic beat)."""
    times, t, n = [], 0.5, 0
    while t < duration_s - 0.6:
        times.append(t)
        n += 1
        early = premature_every and n % premature_every == premature_every - 1
        t += rr_s * (0.65 if early else 1.0)
    return np.array(times)


def ecg(fs: float, duration_s: float, times: np.ndarray, seed: int = 0) -> np.ndarray:
    """A plausible lead in mV: P, QRS and T waves at ``times``, baseline wander, a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * fs)) / fs
    x = 0.1 * np.sin(2 * np.pi * 0.3 * t) + 0.01 * rng.standard_normal(t.size)
    for centre in times:
        for offset, width, height in ((-0.18, 0.025, 0.12), (-0.02, 0.01, -0.1),
                                      (0.0, 0.012, 1.2), (0.025, 0.01, -0.25),
                                      (0.25, 0.05, 0.3)):  # fmt: skip
            x += height * np.exp(-0.5 * ((t - centre - offset) / width) ** 2)
    return x.astype(np.float32)


def write_wfdb(folder: Path, name: str, signals: np.ndarray, fs: float, leads: list[str],
               ann_samples: np.ndarray | None = None, ann_symbols: list[str] | None = None,
               fmt: str = "16") -> dict[str, bytes]:  # fmt: skip
    """Write a WFDB record (and optional .atr) with wfdb itself; return {file name: bytes}."""
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(leads), sig_name=leads,
                p_signal=np.asarray(signals, dtype=np.float64).T, fmt=[fmt] * len(leads),
                adc_gain=[200.0] * len(leads), baseline=[0] * len(leads),
                write_dir=str(folder))  # fmt: skip
    if ann_samples is not None:
        wfdb.wrann(name, "atr", np.asarray(ann_samples, dtype=np.int64),
                   symbol=list(ann_symbols), write_dir=str(folder))  # fmt: skip
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.stem == name}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def long_ecg(fs: float, duration_s: float, rr_s: float = 0.8, seed: int = 0) -> np.ndarray:
    """``ecg`` for hours of signal: one beat drawn once and added at every beat time (``ecg``
    draws every wave over the whole lead, which takes minutes for an hour), every 7th beat
    taller and wider so the classes vary; baseline wander and noise as in ``ecg``."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    x = 0.1 * np.sin(2 * np.pi * 0.3 * t) + 0.01 * rng.standard_normal(n)
    offsets = np.arange(-int(0.4 * fs), int(0.5 * fs))
    shape = np.zeros(offsets.size)
    for offset, width, height in ((-0.18, 0.025, 0.12), (-0.02, 0.01, -0.1), (0.0, 0.012, 1.2),
                                  (0.025, 0.01, -0.25), (0.25, 0.05, 0.3)):  # fmt: skip
        shape += height * np.exp(-0.5 * ((offsets / fs - offset) / width) ** 2)
    wide = 1.3 * np.interp(offsets / 1.6, offsets, shape)
    centres = np.round(beat_times(duration_s, rr_s=rr_s) * fs).astype(np.int64)
    for number, centre in enumerate(centres):
        index = centre + offsets
        inside = (index >= 0) & (index < n)
        x[index[inside]] += (wide if number % 7 == 6 else shape)[inside]
    return x.astype(np.float32)
