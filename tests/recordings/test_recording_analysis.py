"""End-to-end analysis of a synthetic recording with a tiny real Keras model."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.io.recording_io import parse_upload
from ecg.recording_analysis import analyse, beat_images, classify_at

from .synth import beat_times, ecg, write_wfdb

FS = 360.0


@pytest.mark.parametrize("bundle_fixture", ["tiny_bundle", "tiny_rr_bundle"])
def test_analyse_detects_classifies_and_compares_with_reference(tmp_path, request, bundle_fixture):
    tiny_bundle = request.getfixturevalue(bundle_fixture)
    duration = 60.0
    times = beat_times(duration, rr_s=0.8, premature_every=6)
    truth = np.round(times * FS).astype(int)
    symbols = ["V" if (i % 6) == 5 else "N" for i in range(len(truth))]
    x = np.stack([ecg(FS, duration, times), 0.6 * ecg(FS, duration, times, seed=3)])
    files = write_wfdb(tmp_path, "syn", x, FS, ["MLII", "V1"], truth, symbols)
    recording = parse_upload(list(files.items()))
    steps: list[tuple[float, str]] = []
    result = analyse(recording, tiny_bundle, progress=lambda f, m: steps.append((f, m)))

    assert result.detection.sensitivity == 1.0 and result.detection.positive_predictivity == 1.0
    assert len(result.beats) == len(truth)  # every beat here has a full window
    assert result.beats.probabilities.shape == (len(truth), 6)
    np.testing.assert_allclose(result.beats.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert steps[-1] == (1.0, "done") and [f for f, _ in steps] == sorted(f for f, _ in steps)

    summary = result.summary
    assert summary["beats"] == len(truth)
    assert sum(c["count"] for c in summary["classes"]) == len(truth)
    assert 60 < summary["heart_rate"]["mean_bpm"] < 90

    agreement = result.agreement
    matrix = np.array(agreement["matrix"])
    assert matrix.sum() == len(truth) == agreement["scored_beats"]
    classes = result.beats.classes
    assert matrix[classes.index("V")].sum() == symbols.count("V")  # reference rows
    assert matrix[classes.index("N")].sum() == symbols.count("N")
    assert list(result.reference_labels[:6]) == symbols[:6]
    # The agreement is computed from the model's own labels, not invented.
    predicted = result.beats.labels
    assert np.trace(matrix) == int(np.sum(predicted == np.array(symbols)))


def test_classify_at_matches_one_call_of_classify_beats(tiny_bundle, monkeypatch):
    import ecg.recording_analysis as ra

    duration = 50.0
    times = beat_times(duration)
    x = ecg(FS, duration, times)
    peaks = np.round(times * FS).astype(int)
    whole = classify_at(tiny_bundle, x, FS, peaks)
    monkeypatch.setattr(ra, "CLASSIFY_CHUNK_S", 20.0)  # force three pieces
    pieces = classify_at(tiny_bundle, x, FS, peaks)
    np.testing.assert_array_equal(whole.samples, pieces.samples)
    np.testing.assert_allclose(whole.probabilities, pieces.probabilities, atol=1e-3)
    kept, images, _ = tiny_bundle.classify_beats(x, FS, peaks)
    np.testing.assert_array_equal(beat_images(tiny_bundle, x, FS, peaks[kept][:5]), images[:5])


def test_recording_service_uses_litert_when_a_fresh_conversion_exists(
    tmp_path, tiny_bundle, settings
):
    import shutil
    from pathlib import Path

    from ecg.models.lite_runtime import TOLERANCE, export_lite, litert_available
    from ecgsite.model_registry import get_model_registry, reset_model_registry

    if not litert_available():
        pytest.skip("ai-edge-litert is not installed")
    models = tmp_path / "models"
    models.mkdir()
    source = Path(tiny_bundle.path).with_suffix(".keras")
    shutil.copy(source, models / source.name)
    shutil.copy(source.with_suffix(".json"), models / source.with_suffix(".json").name)
    export_lite(models / source.name)
    settings.MODELS_DIR = models
    reset_model_registry()
    try:
        lite = get_model_registry().serving_bundle(task="recording")
    finally:
        reset_model_registry()
    assert lite.runtime == "litert"
    duration = 30.0
    times = beat_times(duration)
    x = ecg(FS, duration, times)
    peaks = np.round(times * FS).astype(int)
    expected = classify_at(tiny_bundle, x, FS, peaks)
    got = classify_at(lite, x, FS, peaks)
    np.testing.assert_array_equal(got.samples, expected.samples)
    np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=TOLERANCE)


def test_false_detections_in_unreadable_beats_leave_the_readable_beats_rr_input(tiny_rr_bundle):
    """Issue 18: the record's mean RR comes from readable beats only, so the detections a noisy
    stretch adds (every 250 ms here) do not change the clean beats' "RR over the record's"."""
    duration = 120.0
    times = beat_times(duration, rr_s=0.8)
    x = ecg(FS, duration, times)
    peaks = np.round(times * FS).astype(np.int64)
    false = np.round(np.arange(40.1, 60.0, 0.25) * FS).astype(np.int64)
    noisy = np.unique(np.concatenate([peaks, false]))
    in_stretch = (noisy >= 40 * FS) & (noisy < 60 * FS)
    kept_clean, _, rr_clean = tiny_rr_bundle.beat_windows(x, FS, peaks)
    kept, _, rr_flagged = tiny_rr_bundle.beat_windows(x, FS, noisy, readable=~in_stretch)
    _, _, rr_unflagged = tiny_rr_bundle.beat_windows(x, FS, noisy)
    early = np.flatnonzero(noisy[kept] < 30 * FS)  # clean beats, far from the stretch
    assert np.array_equal(noisy[kept][early], peaks[kept_clean][early])
    column = 5  # RR before over the record's mean RR
    # Clean: the record's RR over its readable beats is the 0.8 s it was before the noise.
    np.testing.assert_allclose(rr_flagged[early, column], rr_clean[early, column], rtol=0.02)
    assert (rr_unflagged[early, column] > 1.1 * rr_clean[early, column]).all()


def test_analyse_runs_blas_on_one_thread_and_restores_it(tmp_path, tiny_bundle, monkeypatch):
    """OpenBLAS's own threads would compete with the analysis's (``analyse``): one BLAS thread
    while it runs, the process's setting again afterwards, also when the analysis fails."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import ecg.recording_analysis as ra

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen: list[set[int]] = []
    real = ra.classify_at

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(ra, "classify_at", spy)
    duration = 30.0
    times = beat_times(duration)
    truth = np.round(times * FS).astype(int)
    x = np.stack([ecg(FS, duration, times), ecg(FS, duration, times, seed=3)])
    files = write_wfdb(tmp_path, "syn", x, FS, ["MLII", "V1"], truth, ["N"] * len(truth))
    recording = parse_upload(list(files.items()))
    with threadpool_limits(limits=2, user_api="blas"):
        analyse(recording, tiny_bundle)
        assert seen == [{1}]
        assert blas_threads() == {2}
        monkeypatch.setattr(ra, "classify_at", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            analyse(recording, tiny_bundle)
        assert blas_threads() == {2}


def test_the_beat_insert_names_every_column_of_a_beat():
    # recordings.services writes beat rows with one raw INSERT (speed): a field added to Beat
    # without a column there would get no value.
    from recordings.models import Beat
    from recordings.services import BEAT_COLUMNS

    fields = {f.name for f in Beat._meta.concrete_fields if not f.primary_key}
    assert set(BEAT_COLUMNS) == fields and len(BEAT_COLUMNS) == len(fields)


def test_a_long_pause_in_clean_ecg_is_reported(tiny_bundle):
    from ecg.io.recording_base import ParsedRecording

    fs = 360.0
    before = np.arange(0.5, 20.0, 0.8)  # last beat at 19.7 s, the next at 25.7 s
    times = np.concatenate([before, np.arange(before[-1] + 6.0, 59.4, 0.8)])
    rec = ParsedRecording(name="pause", format="csv", fs=fs, lead_names=["MLII"],
                          signals=ecg(fs, 60.0, times)[None], lead_index=0,
                          source_files=[])  # fmt: skip
    analysis = analyse(rec, tiny_bundle)
    # The beat-free 5-s segment inside the pause is quiet, so readable (quality.quiet_share):
    # scored as noise, it had hidden the pause from the episodes.
    pauses = [e for e in analysis.summary["episodes"] if e["kind"] == "pause"]
    assert [(p["start_s"], p["end_s"]) for p in pauses] == [(19.7, 25.7)]
    assert analysis.summary["analysable_share"] == 1.0


def test_a_recording_that_ends_in_asystole_lists_the_pause_to_its_end(tiny_bundle):
    from ecg.io.recording_base import ParsedRecording

    fs = 360.0
    times = np.arange(0.5, 40.0, 0.8)  # the heart stops after the beat at 39.7 s
    rec = ParsedRecording(name="arrest", format="csv", fs=fs, lead_names=["MLII"],
                          signals=ecg(fs, 60.0, times)[None], lead_index=0,
                          source_files=[])  # fmt: skip
    analysis = analyse(rec, tiny_bundle)
    pauses = [e for e in analysis.summary["episodes"] if e["kind"] == "pause"]
    assert [(p["start_s"], p["end_s"], p["beats"]) for p in pauses] == [(39.7, 60.0, 1)]
    assert analysis.summary["analysable_share"] == 1.0  # the quiet 20 s are read, as asystole
