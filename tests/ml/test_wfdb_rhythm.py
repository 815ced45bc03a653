"""``ecg.io.wfdb_rhythm`` against MIT-BIH's own reference rhythms (issue 20): MIT-BIH's
intervals of the rhythms the app names, turned into episodes and written as rhythm changes,
are read back by the reader the episode benchmark scores with as the same intervals."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.episodes import reference_rhythm_intervals
from ecg.io.records import default_data_dir
from ecg.io.wfdb_rhythm import MITDB_RHYTHMS, rhythm_annotations


def _samples(spans: list[tuple[float, float]], fs: float) -> list[tuple[int, int]]:
    return [(round(start * fs), round(end * fs)) for start, end in spans]


@pytest.mark.mitdb
@pytest.mark.parametrize("record", ["201", "203", "207", "222"])  # AF, VT, SVTA, VFL, B, T
def test_mitdb_reference_rhythms_round_trip(record):
    import wfdb

    data_dir = default_data_dir()
    if data_dir is None:
        pytest.skip("MIT-BIH not found (../shared/data/mitdb or $ECG_DATA_DIR)")
    header = wfdb.rdheader(str(data_dir / record))
    fs, n = float(header.fs), int(header.sig_len)
    ann = wfdb.rdann(str(data_dir / record), "atr")
    notes = [a or "" for a in ann.aux_note]
    reference = {
        kind: reference_rhythm_intervals(ann.sample, ann.symbol, notes, fs, n, (label,))
        for kind, label in MITDB_RHYTHMS.items()
    }
    episodes = [
        {"kind": kind, "start_s": start, "end_s": end}
        for kind, spans in reference.items()
        for start, end in spans
    ]
    assert len(episodes) >= 3
    out = rhythm_annotations(episodes, fs=fs, n_samples=n)
    samples = np.array([a[0] for a in out])
    symbols, aux = [a[1] for a in out], [a[2] for a in out]
    for kind, label in MITDB_RHYTHMS.items():
        back = reference_rhythm_intervals(samples, symbols, aux, fs, n, (label,))
        assert _samples(back, fs) == _samples(reference[kind], fs), kind
