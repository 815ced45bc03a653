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


def test_local_rhythm_tells_a_premature_beat_in_regular_rhythm_from_irregular_rhythm():
    regular = np.r_[np.full(20, 0.8), 0.5, 1.1, np.full(20, 0.8)]
    feats = context.local_rhythm_features(regular)
    assert feats.shape == (len(regular), 2) and feats.dtype == np.float32
    prematurity, irregularity = feats[:, 0], feats[:, 1]
    assert prematurity[20] == pytest.approx(0.5 / 0.8)
    assert np.all(np.delete(prematurity, [20, 21]) == pytest.approx(1.0))
    assert irregularity.max() < 0.05  # one early beat and its pause do not make a rhythm
    fibrillation = np.random.default_rng(0).uniform(0.4, 1.0, 60)
    assert context.local_rhythm_features(fibrillation)[:, 1].min() > 0.1
    # ratios of intervals: a faster heart rate with the same pattern gives the same features
    np.testing.assert_allclose(context.local_rhythm_features(0.7 * regular), feats, rtol=1e-5)
    assert context.local_rhythm_features(np.zeros(0)).shape == (0, 2)


@pytest.mark.parametrize(
    "name, extra",
    [
        (
            "rr+record_context+local_rhythm",
            lambda windows, rr: context.local_rhythm_features(rr[:, 0]),
        ),
        (
            "rr+record_context+qrs_extent",
            lambda windows, rr: context.qrs_extent_features(windows, FS, R_INDEX),
        ),
    ],
)
def test_the_larger_sets_append_their_features_to_the_record_context(name, extra):
    windows, rr, _ = beat_windows()
    both = context.rhythm_inputs(rr, windows, FS, R_INDEX, name)
    added = extra(windows, rr)
    assert both.shape[1] == len(context.feature_names(name)) == 6 + N_SUMMARY + added.shape[1]
    ctx = context.rhythm_inputs(rr, windows, FS, R_INDEX, "rr+record_context")
    np.testing.assert_array_equal(both[:, : ctx.shape[1]], ctx)
    np.testing.assert_array_equal(both[:, ctx.shape[1] :], added)


def slurred_beats(terminal_s: float, n: int = 3) -> np.ndarray:
    """A narrow R wave followed by a negative S wave whose slow return lasts ``terminal_s``:
    the slurred terminal wave of right bundle branch block when long."""
    t = (np.arange(int(0.7 * FS)) - R_INDEX) / FS
    r_wave = np.exp(-((t / 0.012) ** 2))
    s_start = 0.03
    s_wave = np.where(
        (t > s_start) & (t < s_start + terminal_s),
        -0.4 * np.sin(np.pi * (t - s_start) / terminal_s),
        0.0,
    )
    return np.tile(r_wave + s_wave, (n, 1))


def test_the_qrs_extent_follows_a_slurred_terminal_wave_after_the_r_peak():
    names = list(context.QRS_EXTENT_FEATURE_NAMES)
    short = context.qrs_extent_features(slurred_beats(0.03), FS, R_INDEX)
    slurred = context.qrs_extent_features(slurred_beats(0.09), FS, R_INDEX)
    after = names.index("r_to_qrs_offset_s")
    before = names.index("qrs_onset_to_r_s")
    assert slurred[0, after] > short[0, after] + 0.04
    assert slurred[0, before] == pytest.approx(short[0, before], abs=0.006)
    # every beat alike: the recording's medians are the beat's own values, the ratio 1
    assert slurred[0, names.index("record_median_r_to_qrs_offset_s")] == slurred[0, after]
    assert slurred[:, names.index("qrs_extent_over_record_median")] == pytest.approx(1.0)
    # the 20% slope level of the record context's width does not see the slurred wave at all
    narrow_width, slurred_width = (
        context.qrs_widths(slurred_beats(terminal), FS, R_INDEX)[0] for terminal in (0.03, 0.09)
    )
    assert slurred_width < narrow_width + 0.01
    np.testing.assert_allclose(
        context.qrs_extent_features(3.0 * slurred_beats(0.09), FS, R_INDEX), slurred, atol=1e-6
    )
    assert context.qrs_extent_features(np.zeros((0, 252)), FS, R_INDEX).shape == (0, len(names))


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
