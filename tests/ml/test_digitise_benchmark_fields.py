"""The digitising benchmark's served-path fields (benchmarks/digitise_benchmark.py, issue 19)
on a tiny fixture: a fake beat model whose answer depends only on a window's amplitude."""

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.digitise_benchmark import FS, aligned_scores, served_block, signal_scores, summarise
from ecg.training.metrics import per_record_confusions

CLASSES = ["N", "V"]


class AmplitudeModel:
    """Says "V" (class 1) for a window taller than 2.2 mV peak to peak, else "N"."""

    def render(self, windows):
        return np.asarray(windows, dtype=np.float32)

    def predict_proba(self, images):
        tall = np.ptp(images, axis=1) > 2.2
        return np.stack([~tall, tall], axis=1).astype(np.float32)


def _fixture(axis_read: bool):
    t = np.linspace(-1, 1, 252)
    beat = np.exp(-((t / 0.05) ** 2))  # peak to peak 1
    records = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    labels = np.ones(len(records), dtype=int)  # every beat a V
    true = [2.5 * beat for _ in records]  # read from the axis: 2.5 mV, the truth
    # As the app drew them before the axis reading: the assumed 2.0 mV.
    assumed_amp = [2.0 * beat for _ in records]
    own = per_record_confusions(labels, labels, records, len(CLASSES))
    served = true if axis_read else assumed_amp
    n = len(records)
    mask = np.full(n, axis_read)
    return own, served, assumed_amp, labels, records, ~mask, mask


def test_served_path_uses_the_read_scale_and_pairs_the_prior_on_the_same_beats():
    own, served, prior, labels, records, assumed, axis_read = _fixture(axis_read=True)
    out = served_block(
        AmplitudeModel(), own, served, prior, labels, records, CLASSES, assumed, axis_read
    )
    assert out["served"]["accuracy"] == 1.0
    assert out["served_minus_own"]["difference"] == 0.0
    assert out["target"]["met"] and out["target"]["interval_lower_within"]
    # The prior's five amplitudes around 2.0 mV: only 2.45 and 3.02 are "tall", so N wins.
    assert out["prior_only"]["accuracy"] == 0.0
    assert out["answers_changed_by_axis_reading"] == len(labels)
    assert out["served_minus_prior_only"]["difference"] == pytest.approx(1.0)


def test_without_axis_reading_the_served_path_is_the_prior_and_misses_the_target():
    own, served, prior, labels, records, assumed, axis_read = _fixture(axis_read=False)
    out = served_block(
        AmplitudeModel(), own, served, prior, labels, records, CLASSES, assumed, axis_read
    )
    assert out["served"]["accuracy"] == 0.0
    assert not out["target"]["met"]
    assert "prior_only" not in out  # nothing was read from axis labels


def test_scale_source_counts():
    rows = [
        {"status": "ecg", "ms": 1.0, "corr": 0.99, "snr_fitted_db": 20.0, "scale_source": s}
        for s in ("grid", "axis_labels", "axis_labels", "assumed")
    ] + [{"status": "no_trace", "ms": 1.0}]
    counts = summarise(rows, None)["scale_source_counts"]
    assert counts == {"grid": 1, "axis_labels": 2, "assumed": 1, "not_digitised": 1}


def _strip(seconds: float) -> np.ndarray:
    """A spiky 10-s-like test signal: narrow "QRS" pulses at an irregular rhythm."""
    t = np.arange(int(seconds * FS)) / FS
    beats = np.cumsum([0.3, 0.8, 0.7, 0.95, 0.6, 0.85, 0.75, 0.9, 0.8, 0.7, 0.9, 0.8])
    return sum(np.exp(-(((t - b) / 0.012) ** 2)) for b in beats if b < seconds)


def test_aligned_score_forgives_a_strip_whose_start_is_out_of_the_frame():
    truth = _strip(10.0)
    cut = int(0.2 * FS)  # the image shows 9.8 s: its first 0.2 s were rotated out of frame
    fs_read = 200.0
    shown = truth[cut:]
    trace = np.interp(np.arange(0, len(shown), FS / fs_read), np.arange(len(shown)), shown)
    digitised = SimpleNamespace(signal=trace, fs=fs_read, units="mV", scale_source="grid")
    scores = signal_scores(digitised, truth)
    # Stretched over the whole truth, the beats slide off their references ...
    assert scores["corr"] < 0.5
    # ... at the read time scale, shifted by the missing 0.2 s, they lie on them.
    assert scores["corr_aligned"] > 0.99
    assert scores["aligned_shift_s"] == pytest.approx(0.2, abs=2 / FS)
    assert scores["read_share"] == pytest.approx(0.98, abs=0.002)


def test_aligned_score_does_not_rescue_a_wrong_trace():
    truth = _strip(10.0)
    rng = np.random.default_rng(0)
    digitised = SimpleNamespace(signal=rng.normal(size=2000), fs=200.0, units="mV",
                                scale_source="grid")  # fmt: skip
    assert aligned_scores(digitised, truth)["corr_aligned"] < 0.2


def test_aligned_score_only_for_a_read_time_scale():
    truth = _strip(10.0)
    digitised = SimpleNamespace(signal=truth[::2], fs=180.0, units="normalised",
                                scale_source="assumed")  # fmt: skip
    assert "corr_aligned" not in signal_scores(digitised, truth)
