"""Record-context features: each beat against its own recording, identical in training and
serving, unchanged by the recording's gain."""

import numpy as np
import pytest

from ecg.dsp.signal import prepare_signal
from ecg.features import context
from ecg.features.beats import extract_windows, rr_features
from ecg.io.records import load_record
from ecg.models.bundle import load_bundle, save_bundle
from ecg.training import pipeline
from ecg.training.evaluation import bundle_rr_inputs
from ecg.training.training import ModelConfig, rr_inputs_for, train

from .conftest import FS, TINY_TRAINING, synthetic_ecg, tiny_inter_patient_table

R_INDEX = int(0.25 * FS)
N_SUMMARY = len(context.CONTEXT_FEATURE_NAMES)


def beat_windows(seed: int = 0, n_beats: int = 40):
    sig, peaks, symbols = synthetic_ecg(n_beats, seed)
    clean = prepare_signal(sig, FS, FS)
    windows, kept = extract_windows(clean, peaks, FS, pre_s=0.25, post_s=0.45)
    return windows, rr_features(peaks, FS)[kept], symbols[kept]


def gaussian_beats(width_s: float, n: int = 3) -> np.ndarray:
    t = (np.arange(int(0.7 * FS)) - R_INDEX) / FS
    return np.tile(np.exp(-((t / width_s) ** 2)), (n, 1))


def test_qrs_width_grows_with_the_width_of_the_complex():
    narrow = context.qrs_widths(gaussian_beats(0.012), FS, R_INDEX)
    wide = context.qrs_widths(gaussian_beats(0.035), FS, R_INDEX)
    assert 0.02 < narrow[0] < 0.08
    assert wide[0] > 2 * narrow[0]
    assert narrow.dtype == np.float32 and narrow.shape == (3,)


def test_ectopic_beats_stand_out_from_the_recordings_median_beat():
    windows, rr, symbols = beat_windows()
    feats = context.record_context_features(windows, rr, FS, R_INDEX)
    names = list(context.CONTEXT_FEATURE_NAMES)
    assert feats.shape == (len(windows), N_SUMMARY) and feats.dtype == np.float32
    is_v = symbols == "V"
    corr = feats[:, names.index("correlation_with_record_median_beat")]
    prev = feats[:, names.index("rr_prev_over_record_median")]
    width = feats[:, names.index("qrs_width_over_record_median")]
    assert corr[~is_v].min() > 0.95 and corr[is_v].max() < 0.5
    assert prev[is_v].max() < 0.8 < prev[~is_v].min()
    assert width[is_v].min() > 1.5 * np.median(width[~is_v])


def test_context_features_do_not_change_with_the_recordings_gain():
    windows, rr, _ = beat_windows()
    once = context.record_context_features(windows, rr, FS, R_INDEX)
    louder = context.record_context_features(2.5 * windows, rr, FS, R_INDEX)
    np.testing.assert_allclose(louder, once, rtol=1e-4, atol=1e-5)


def test_each_recording_is_described_against_itself():
    a_windows, a_rr, _ = beat_windows(seed=0)
    b_windows, b_rr, _ = beat_windows(seed=1, n_beats=30)
    both = context.rhythm_inputs_by_record(
        np.concatenate([a_rr, b_rr]),
        np.concatenate([a_windows, b_windows]),
        np.array(["a"] * len(a_rr) + ["b"] * len(b_rr)),
        FS,
        R_INDEX,
        "rr+record_context",
    )
    alone = context.rhythm_inputs(b_rr, b_windows, FS, R_INDEX, "rr+record_context")
    np.testing.assert_allclose(both[len(a_rr) :], alone)
    assert both.shape[1] == len(context.feature_names("rr+record_context")) == 6 + N_SUMMARY


def test_the_plain_rr_set_is_the_rr_features_and_unknown_sets_are_refused():
    windows, rr, _ = beat_windows()
    np.testing.assert_array_equal(context.rhythm_inputs(rr, windows, FS, R_INDEX, "rr"), rr)
    with pytest.raises(ValueError, match="unknown rhythm feature set"):
        context.rhythm_inputs(rr, windows, FS, R_INDEX, "rr+everything")


@pytest.mark.slow
def test_a_record_context_model_gets_the_same_features_in_training_and_serving(tmp_path):
    table, labels, split = tiny_inter_patient_table(tmp_path)
    config = ModelConfig(
        "tiny_ctx", use_rr=True, rhythm_features="rr+record_context", **TINY_TRAINING
    )
    model, record = train(config, table, split, labels, 6, work_dir=tmp_path / "runs")
    candidate = pipeline.Candidate(config, "recording", "recording")
    meta = pipeline.metadata_for(candidate, record, table)
    bundle = load_bundle(save_bundle(model, meta, tmp_path / "runs" / "tiny_ctx"))
    assert bundle.metadata["rhythm_features"] == "rr+record_context"
    assert bundle.metadata["rr_feature_names"] == list(context.feature_names("rr+record_context"))
    assert bundle.rr_width == 14 and model.inputs[1].shape[-1] == 14
    trained_rr = rr_inputs_for(config, table)
    np.testing.assert_array_equal(bundle_rr_inputs(bundle, table), trained_rr)

    # Serving cuts the record itself; its window is narrower than the table's stored one, so it
    # keeps a beat or two more at the ends, and the record medians may move by that much.
    rec = load_record(tmp_path, "100")
    kept, _, served_rr = bundle.beat_inputs(rec.signal, rec.fs, rec.ann_samples)
    in_table = np.flatnonzero(table.records == "100")
    pre, post = int(0.35 * FS), int(0.55 * FS)
    peaks = rec.ann_samples
    in_both = np.flatnonzero((peaks - pre >= 0) & (peaks + post <= len(rec.signal)))
    served = np.searchsorted(kept, in_both)
    np.testing.assert_allclose(served_rr[served], trained_rr[in_table], rtol=0.05, atol=0.01)


# -- the record's references from readable beats only (issue 18) ------------------------------


def noisy_copy(windows: np.ndarray, rows: np.ndarray, seed: int) -> np.ndarray:
    """``windows`` with ``rows`` replaced by loud noise (beats a noisy stretch gave)."""
    out = windows.copy()
    out[rows] = np.random.default_rng(seed).normal(0, 2.0, (rows.size, windows.shape[1]))
    return out


@pytest.mark.parametrize("feature_set", ["rr+record_context", "rr+record_context_v2"])
def test_flagging_every_beat_changes_nothing(feature_set):
    """Training (no flags) and serving a clean recording (every beat readable) get the very
    same inputs: one preprocessing path."""
    windows, rr, _ = beat_windows()
    every = np.ones(len(windows), dtype=bool)
    np.testing.assert_array_equal(
        context.rhythm_inputs(rr, windows, FS, R_INDEX, feature_set, reference=every),
        context.rhythm_inputs(rr, windows, FS, R_INDEX, feature_set),
    )
    _, peaks, _ = synthetic_ecg(40, 0)
    np.testing.assert_array_equal(
        rr_features(peaks, FS, reference=np.ones(peaks.size, bool)), rr_features(peaks, FS)
    )


def test_noisy_beats_do_not_move_the_readable_beats_context():
    windows, rr, _ = beat_windows(n_beats=60)
    noisy = np.arange(20, 40)  # a third of the recording under noise
    readable = np.ones(len(windows), dtype=bool)
    readable[noisy] = False
    a = context.rhythm_inputs(rr, noisy_copy(windows, noisy, 1), FS, R_INDEX,
                              "rr+record_context_v2", reference=readable)  # fmt: skip
    b = context.rhythm_inputs(rr, noisy_copy(windows, noisy, 2), FS, R_INDEX,
                              "rr+record_context_v2", reference=readable)  # fmt: skip
    np.testing.assert_array_equal(a[readable], b[readable])
    # ... and they are those of the clean recording described by its readable beats alone.
    clean = context.rhythm_inputs(rr[readable], windows[readable], FS, R_INDEX,
                                  "rr+record_context_v2")  # fmt: skip
    np.testing.assert_allclose(a[readable], clean, rtol=1e-6)
    # Without the flags the noise reaches every beat's input (the median QRS width at least).
    c = context.rhythm_inputs(rr, noisy_copy(windows, noisy, 1), FS, R_INDEX,
                              "rr+record_context_v2")  # fmt: skip
    d = context.rhythm_inputs(rr, noisy_copy(windows, noisy, 2), FS, R_INDEX,
                              "rr+record_context_v2")  # fmt: skip
    assert not np.array_equal(c[readable], d[readable])


def test_the_record_mean_rr_skips_intervals_around_unreadable_beats():
    peaks = np.arange(1, 41) * int(0.8 * FS)  # 75 bpm
    false = np.arange(int(10.2 * FS), int(14 * FS), int(0.25 * FS))  # noise's detections
    both = np.sort(np.concatenate([peaks, false]))
    readable = ~np.isin(both, false)
    readable[np.searchsorted(both, false[-1]) + 1] = False  # the beat after the stretch too
    ratio = rr_features(both, FS, reference=readable)[:, 5]  # RR before over the record's mean
    assert ratio[2] == pytest.approx(1.0, abs=1e-3)
    assert rr_features(both, FS)[2, 5] > 1.05  # the false detections shorten the mean


def test_too_few_readable_beats_fall_back_to_every_beat():
    windows, rr, _ = beat_windows()
    few = np.zeros(len(windows), dtype=bool)
    few[:3] = True
    np.testing.assert_array_equal(
        context.rhythm_inputs(rr, windows, FS, R_INDEX, "rr+record_context", reference=few),
        context.rhythm_inputs(rr, windows, FS, R_INDEX, "rr+record_context"),
    )
    with pytest.raises(ValueError, match="reference flags"):
        context.rhythm_inputs(rr, windows, FS, R_INDEX, "rr+record_context", reference=few[:5])
