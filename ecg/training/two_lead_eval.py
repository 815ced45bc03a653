"""Scoring a two-channel model (issue 17) on a beat table's beats, with the inputs serving builds.

The one-lead evaluation (``evaluation.bundle_probabilities``) crops the table's stored MLII
windows. A two-channel model also reads each beat's second lead, which the table does not hold,
so each record is read here as the app receives it (``parse_upload`` of its WFDB files) and
classified at its reference beats by ``recording_analysis.classify_two_lead``, the serving
function: the same second lead (``second_lead_index``: V1 first, a lead the second channel was
trained on, else the primary in both channels), the second lead's screen and
``two_lead_windows``. There is no second preprocessing path to drift from the app's.

As for the one-lead models: the reference peaks, no beat detection, no quality flags and no
"uncertain" threshold (arg-max calls). ``benchmarks/two_lead_serving.py report`` measures the
whole app path (detection, screen, uncertain states) on the same test sets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ecg.dsp.signal import rescale_samples
from ecg.features.beats import extract_windows
from ecg.io.recording_base import ParsedRecording
from ecg.models.bundle import ModelBundle
from ecg.training.dataset import BeatTable

Progress = Callable[[str], None]


def record_upload(data_dir: str | Path, name: str) -> ParsedRecording:
    """A WFDB record of ``data_dir`` parsed as an upload (``.hea``, ``.dat``, ``.atr``): the
    lead the app analyses first, every other lead beside it, the reference beats."""
    from ecg.io.recording_io import Limits, parse_upload

    files = [(f"{name}{ext}", (Path(data_dir) / f"{name}{ext}").read_bytes())
             for ext in (".hea", ".dat", ".atr")]  # fmt: skip
    return parse_upload(files, limits=Limits(max_bytes=10**9))  # whole records, not uploads


def stored_beats(recording: ParsedRecording, table: BeatTable) -> np.ndarray:
    """Indices of the recording's reference beats that a table of ``table``'s stored windows
    holds: those with a whole stored window at the table's rate (``extract_windows``' own rule,
    applied as ``dataset.beats_from_record`` applies it; the signal's values do not matter)."""
    peaks = rescale_samples(recording.ann_samples, recording.fs, table.fs)
    n = int(round(recording.n_samples * table.fs / recording.fs))
    _, kept = extract_windows(
        np.zeros(n, np.float32), peaks, table.fs, pre_s=table.pre_s, post_s=table.post_s
    )
    return kept


def record_probabilities(
    bundle: ModelBundle, recording: ParsedRecording, table: BeatTable, rows: np.ndarray
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """(probabilities of the table's ``rows`` (every row of this recording, in order), the
    serving path's two-lead entry: its second lead and screened beats; None: the primary in
    both channels), from the serving path at ALL the recording's reference beats (the "rr"
    input reads every beat). ValueError if the rows are not the recording's stored beats."""
    from ecg.recording_analysis import classify_two_lead

    stored = stored_beats(recording, table)
    if len(stored) != len(rows) or not np.array_equal(
        recording.ann_symbols[stored].astype(str), table.symbols[rows].astype(str)
    ):
        raise ValueError(f"record {recording.name}: the table's beats are not its reference beats")
    beats, entry = classify_two_lead(bundle, recording, recording.ann_samples)
    wanted = recording.ann_samples[stored]
    at = np.searchsorted(beats.samples, wanted)
    found = at < len(beats.samples)
    found[found] = beats.samples[at[found]] == wanted[found]
    if not found.all():  # serving's window is inside the stored one: it keeps every such beat
        raise ValueError(f"record {recording.name}: {int((~found).sum())} beats not classified")
    return np.asarray(beats.probabilities, dtype=np.float32)[at], entry


class TwoLeadScorer:
    """``probabilities(index)`` of a two-channel bundle for rows of a table built from the
    records in ``data_dir`` (``build_beat_table``), each record classified once and kept."""

    def __init__(
        self,
        bundle: ModelBundle,
        data_dir: str | Path,
        table: BeatTable,
        progress: Progress | None = None,
    ) -> None:
        self.bundle, self.data_dir, self.table, self.progress = bundle, data_dir, table, progress
        self._by_record: dict[str, np.ndarray] = {}
        self._entries: dict[str, dict[str, Any] | None] = {}

    def record(self, name: str) -> np.ndarray:
        """Probabilities of every table row of record ``name``, in table order."""
        if name not in self._by_record:
            rows = np.flatnonzero(self.table.records == name)
            recording = record_upload(self.data_dir, name)
            probs, entry = record_probabilities(self.bundle, recording, self.table, rows)
            self._by_record[name], self._entries[name] = probs, entry
            if self.progress:
                second = entry["second_lead"] if entry else f"none ({recording.lead} twice)"
                self.progress(f"  record {name}: {len(rows)} beats, second lead {second}")
        return self._by_record[name]

    def inputs_summary(self) -> dict[str, Any]:
        """Per record scored: the second lead read (None: the primary in both channels) and the
        beats whose second-lead segment failed the screen (they got the primary twice)."""
        entries = self._entries.items()
        return {
            "second_lead": {n: e["second_lead"] if e else None for n, e in entries},
            "screened_beats": {n: e.get("screened_beats", 0) if e else 0 for n, e in entries},
            "path": "recording_analysis.classify_two_lead at the reference beats (no detection, "
            "no quality flags, arg-max calls: no uncertain state)",
        }

    def __call__(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        out = np.zeros((len(index), len(self.bundle.classes)), np.float32)
        names = self.table.records[index]
        for name in dict.fromkeys(names.tolist()):
            here = names == name
            rows = np.flatnonzero(self.table.records == name)
            out[here] = self.record(name)[np.searchsorted(rows, index[here])]
        return out
