"""Synthetic ECG signals and WFDB files written by the tests themselves (no MIT-BIH data)."""

from __future__ import annotations

import io
import tracemalloc
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


def heap_peak(run) -> tuple[int, object]:
    """numpy/Python heap peak (bytes) while ``run()`` runs, and its result."""
    tracemalloc.start()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def edf_bytes(signals: np.ndarray, fs: int, leads: list[str], *, units: str = "mV",
              physical: tuple[float, float] = (-5.0, 5.0), record_s: float = 1.0,
              annotation_signal: bool = False) -> bytes:  # fmt: skip
    """An EDF file of ``signals`` (in ``units``) written by hand, as the EDF specification lays
    it out: a 256-byte header, 256 bytes per signal, then data records of little-endian int16
    samples, every signal ``fs * record_s`` samples a record (a tail shorter than a record is
    dropped). ``annotation_signal`` adds an all-zero "EDF Annotations" signal of the same rate,
    which a reader must not take for a lead."""
    signals = np.atleast_2d(np.asarray(signals, dtype=np.float32))
    per_record = int(round(fs * record_s))
    n_records = signals.shape[1] // per_record
    low, high = physical
    digital = np.empty((signals.shape[0], n_records * per_record), dtype="<i2")
    scale = 65535.0 / (high - low)
    for index, lead in enumerate(signals[:, : n_records * per_record]):
        digital[index] = np.clip(np.round((lead - low) * scale - 32768.0), -32768, 32767)
    names, dims = list(leads), [units] * len(leads)
    if annotation_signal:
        digital = np.concatenate([digital, np.zeros((1, digital.shape[1]), dtype="<i2")])
        names, dims = names + ["EDF Annotations"], dims + [""]
    n = len(names)

    def field(value, width: int) -> bytes:
        return str(value)[:width].ljust(width).encode("ascii")

    header = (field(0, 8) + field("X X X X", 80) + field("Startdate 01-JAN-2025 X X X", 80)
              + field("01.01.25", 8) + field("00.00.00", 8) + field(256 * (n + 1), 8)
              + field("", 44) + field(n_records, 8) + field(f"{record_s:g}", 8)
              + field(n, 4))  # fmt: skip
    for values, width in ((names, 16), (["AgAgCl electrode"] * n, 80), (dims, 8),
                          ([f"{low:g}"] * n, 8), ([f"{high:g}"] * n, 8), (["-32768"] * n, 8),
                          (["32767"] * n, 8), (["HP:0.5Hz LP:40Hz"] * n, 80),
                          ([per_record] * n, 8), ([""] * n, 32)):  # fmt: skip
        header += b"".join(field(value, width) for value in values)
    records = digital.reshape(n, n_records, per_record).transpose(1, 0, 2)
    return header + records.tobytes()


def lead_pair_recording(leads: list[str], fs: float = 360.0, duration_s: float = 40.0):
    """A ParsedRecording with ``leads`` (one or more): every 5th beat premature, the second lead
    inverted (a V1-like lead: mostly negative QRS, other beat images), the others scaled down."""
    from ecg.io.recording_base import ParsedRecording

    times = beat_times(duration_s, premature_every=5)
    signals = np.stack([ecg(fs, duration_s, times, seed=i) * (1.0 - 0.3 * i)
                        for i in range(len(leads))])  # fmt: skip
    if len(leads) > 1:
        signals[1] = -signals[1]
    return ParsedRecording(name="syn", format="wfdb", fs=fs, lead_names=leads,
                           signals=signals.astype(np.float32), lead_index=0,
                           source_files=["syn.dat"])  # fmt: skip
