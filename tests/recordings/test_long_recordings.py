"""Long recordings in bounded memory: every chunked path gives what one pass gives.

"One pass" is the analysis before it was chunked: the lead band-passed by one
``scipy.signal.sosfiltfilt`` call, the WFDB samples read by one ``rdrecord`` call, and each
one-hour piece's images all drawn and classified at once. Module settings switch between the
two, so both run through the same code. Signals, beat positions, classes and summaries are
bit-identical; probabilities agree within ``tests.model_outputs.PROBABILITY_ATOL``, since a
network's floats change with batch shape and CPU kernels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal as sps

from ecg import recording_analysis
from ecg.dsp import signal
from ecg.io import recording_io
from ecg.io.recording_io import Limits, ParsedRecording, megabytes, parse_upload
from ecg.io.records import default_data_dir
from ecg.models.bundle import PREDICT_BATCH, batch_bounds
from ecg.recording_analysis import analyse, classify_at
from tests.model_outputs import assert_same_model_outputs

from .synth import beat_times, heap_peak, long_ecg, write_wfdb

FS = 360.0
ROOT = Path(__file__).resolve().parents[2]
ONE_PASS = {"FILTER_BLOCK": 10**12, "WFDB_READ_FRAMES": 10**12, "CLASSIFY_BATCH": 10**6 * 512}
# Odd sizes, so blocks end mid-beat and mid-byte-pair of format 212.
CHUNKED = {"FILTER_BLOCK": 4099, "WFDB_READ_FRAMES": 100_003, "CLASSIFY_BATCH": PREDICT_BATCH}


def set_mode(monkeypatch, mode: dict[str, int]) -> None:
    monkeypatch.setattr(signal, "FILTER_BLOCK", mode["FILTER_BLOCK"])
    monkeypatch.setattr(recording_io, "WFDB_READ_FRAMES", mode["WFDB_READ_FRAMES"])
    monkeypatch.setattr(recording_analysis, "CLASSIFY_BATCH", mode["CLASSIFY_BATCH"])


def analyse_upload(files, bundle, monkeypatch, mode: dict[str, int]):
    set_mode(monkeypatch, mode)
    recording = parse_upload(files, limits=Limits(max_bytes=10**9))
    return recording, analyse(recording, bundle)


def assert_same_analysis(files, bundle, monkeypatch) -> None:
    one_signals, one = analyse_upload(files, bundle, monkeypatch, ONE_PASS)
    chunked_signals, chunked = analyse_upload(files, bundle, monkeypatch, CHUNKED)
    np.testing.assert_array_equal(chunked_signals.signals, one_signals.signals)
    np.testing.assert_array_equal(chunked.beats.samples, one.beats.samples)
    assert_same_model_outputs(chunked.beats.probabilities, one.beats.probabilities)
    assert chunked.detected_beats == one.detected_beats and chunked.summary == one.summary
    assert chunked.agreement == one.agreement


def shipped_recording_bundle():
    from ecg.models.lite_runtime import load_serving_bundle

    path = ROOT / "models" / "recording_spec_ctx.keras"
    if not path.is_file():
        pytest.skip("the shipped recording model is not in models/")
    return load_serving_bundle(path)[0]


# -- the pieces --------------------------------------------------------------------------------


def test_band_pass_in_blocks_is_scipys_bit_for_bit():
    x = (np.random.default_rng(0).standard_normal(60_000).cumsum() * 0.05).astype(np.float32)
    sos = signal._bandpass_sos(FS, *signal.BAND_HZ)
    expected = sps.sosfiltfilt(sos, x.astype(np.float64)).astype(np.float32)
    for block in (16, 1000, 4099, 59_999, 100_000):
        np.testing.assert_array_equal(signal.sosfiltfilt_blocks(sos, x, block), expected)


def test_batch_bounds_keep_network_batches_whole(tiny_bundle):
    assert batch_bounds(0, 512) == []
    assert batch_bounds(40, 512) == [(0, 40)]
    assert batch_bounds(1024 + 64, 512) == [(0, 512), (512, 1088)]  # a tail of 64 joins
    assert batch_bounds(1024 + 65, 512) == [(0, 512), (512, 1024), (1024, 1089)]
    with pytest.raises(ValueError, match="multiple of 512"):
        tiny_bundle.classify_windows(np.zeros((3, 252), np.float32), batch=100)


@pytest.mark.parametrize("n_beats", [1064, 1100])  # a tail that joins, one that does not
def test_classifying_windows_in_batches_equals_one_call(tiny_rr_bundle, n_beats):
    x = long_ecg(FS, 960.0)
    peaks = np.round(beat_times(960.0) * FS).astype(np.int64)
    _, windows, rr = tiny_rr_bundle.beat_windows(x, FS, peaks)
    windows, rr = windows[:n_beats], rr[:n_beats]
    one_call = tiny_rr_bundle.predict_proba(tiny_rr_bundle.render(windows), rr)
    assert_same_model_outputs(tiny_rr_bundle.classify_windows(windows, rr), one_call)


def test_redrawing_far_apart_beats_filters_short_stretches(tiny_bundle, monkeypatch):
    x = long_ecg(FS, 300.0)
    peaks = np.round(beat_times(300.0) * FS).astype(np.int64)[[2, 3, 100, 300]]
    stretches: list[int] = []
    real = recording_analysis.prepare_signal
    monkeypatch.setattr(
        recording_analysis,
        "prepare_signal",
        lambda piece, *a: stretches.append(len(piece)) or real(piece, *a),
    )
    monkeypatch.setattr(recording_analysis, "REDRAW_SPAN_S", 20.0)
    images, kept = recording_analysis.render_beat_images(tiny_bundle.metadata, x, FS, peaks)
    assert kept.tolist() == [0, 1, 2, 3] and images.shape == (4, 64, 64)
    assert len(stretches) == 3 and max(stretches) < 25 * FS  # never the whole lead
    alone = recording_analysis.render_beat_images(tiny_bundle.metadata, x, FS, peaks[3:])[0]
    np.testing.assert_array_equal(images[3], alone[0])


# -- whole analyses: chunked vs one pass -------------------------------------------------------


def test_chunked_analysis_equals_one_pass_on_a_synthetic_recording(
    tmp_path, tiny_rr_bundle, monkeypatch
):
    duration = 400.0
    truth = np.round(beat_times(duration, rr_s=0.55) * FS).astype(int)
    symbols = ["V" if i % 7 == 6 else "N" for i in range(len(truth))]  # long_ecg's wide beats
    x = long_ecg(FS, duration, rr_s=0.55)
    files = write_wfdb(tmp_path, "syn", np.stack([x, 0.6 * x]), FS, ["MLII", "V1"], truth,
                       symbols, fmt="212")  # fmt: skip
    # Two classification pieces, the first with two batches of images.
    monkeypatch.setattr(recording_analysis, "CLASSIFY_CHUNK_S", 360.0)
    assert_same_analysis(list(files.items()), tiny_rr_bundle, monkeypatch)


@pytest.mark.mitdb
def test_chunked_analysis_equals_one_pass_on_mitbih_record_100(monkeypatch):
    """Record 100 with the shipped model (record-context features): same beats, classes and
    probabilities; for this 30-minute record that is one ``classify_beats`` call."""
    data_dir = default_data_dir()
    if data_dir is None:
        pytest.skip("MIT-BIH not found (../shared/data/mitdb or $ECG_DATA_DIR)")
    bundle = shipped_recording_bundle()
    files = [
        (f"100{ext}", (data_dir / f"100{ext}").read_bytes()) for ext in (".hea", ".dat", ".atr")
    ]
    assert_same_analysis(files, bundle, monkeypatch)
    recording, chunked = analyse_upload(files, bundle, monkeypatch, CHUNKED)
    peaks = recording_analysis.detect_beats(recording.signal, FS, second_lead=recording.second_lead)
    kept, _, probs = bundle.classify_beats(recording.signal, FS, peaks)
    np.testing.assert_array_equal(chunked.beats.samples, peaks[kept])
    assert_same_model_outputs(chunked.beats.probabilities, probs.astype(np.float32))


# -- memory -----------------------------------------------------------------------------------


def test_classification_memory_does_not_grow_with_the_recording(tiny_bundle, monkeypatch):
    """In ten-minute pieces, 20 and 60 minutes of beats peak alike, far under one pass over the
    hour (which held all its images and their drawing buffers at once)."""
    x = long_ecg(FS, 3600.0)
    peaks = np.round(beat_times(3600.0) * FS).astype(np.int64)
    set_mode(monkeypatch, ONE_PASS)
    one_pass_peak, _ = heap_peak(lambda: classify_at(tiny_bundle, x, FS, peaks))
    set_mode(monkeypatch, CHUNKED)
    monkeypatch.setattr(recording_analysis, "CLASSIFY_CHUNK_S", 600.0)
    short = x[: int(1200 * FS)]
    short_peak, _ = heap_peak(
        lambda: classify_at(tiny_bundle, short, FS, peaks[peaks < short.size])
    )
    long_peak, _ = heap_peak(lambda: classify_at(tiny_bundle, x, FS, peaks))
    assert long_peak < 1.2 * short_peak and long_peak < one_pass_peak / 3


@pytest.mark.slow
def test_a_long_upload_is_parsed_and_analysed_in_bounded_memory(tmp_path, tiny_rr_bundle):
    """Three hours of two leads, through the upload's parse and the worker's analysis of the
    stored, mapped signal (``services._parsed_from_storage``)."""
    hours = 3.0
    x = long_ecg(FS, hours * 3600)
    files = write_wfdb(tmp_path / "upload", "long", np.stack([x, 0.6 * x]), FS, ["MLII", "V1"],
                       fmt="212")  # fmt: skip
    del x
    parse_peak, recording = heap_peak(lambda: parse_upload(list(files.items())))
    # Before: int64 samples, their float64 copy and wfdb's buffers, about 7 times the result.
    assert parse_peak < 2 * recording.signals.nbytes
    np.save(tmp_path / "signals.npy", recording.signals)
    del recording
    mapped = ParsedRecording(
        name="long", format="wfdb", fs=FS, lead_names=["MLII", "V1"], lead_index=0,
        signals=np.load(tmp_path / "signals.npy", mmap_mode="r"), source_files=[],
    )  # fmt: skip
    worker_peak, analysis = heap_peak(lambda: analyse(mapped, tiny_rr_bundle))
    all_images = len(analysis.beats) * tiny_rr_bundle.image_size**2
    assert len(analysis.beats) > 13_000 and worker_peak < 0.75 * all_images


# -- limits ------------------------------------------------------------------------------------


def test_the_default_size_limit_admits_a_24_hour_two_lead_format_212_recording(settings):
    from ecgsite import settings as defaults

    samples = 24 * 3600 * 360  # per lead
    dat = int(np.ceil(samples * 2 * recording_io.WFDB_SAMPLE_BYTES["212"]))
    atr = 2 * 200 * 24 * 60  # two bytes a beat, even at 200 beats a minute throughout
    header = 1000
    for limit in (defaults.RECORDING_MAX_BYTES, Limits().max_bytes):
        assert dat + atr + header <= limit
    assert defaults.RECORDING_MAX_BYTES == Limits().max_bytes
    # Uploads that large arrive in a temporary file, not in the request's memory.
    assert defaults.FILE_UPLOAD_MAX_MEMORY_SIZE < dat
    assert "django.core.files.uploadhandler.TemporaryFileUploadHandler" in (
        settings.FILE_UPLOAD_HANDLERS
    )


def test_size_messages_never_show_an_upload_over_the_limit_as_equal_to_it():
    assert megabytes(100_000_000) == "100" and megabytes(52_428_800) == "52.4"
    assert megabytes(100_000_001, round_up=True) == "100.1"
    message = recording_io.size_refusal(100_040_000, 100_000_000)
    assert message == "the files total 100.1 MB; the limit is 100 MB"


def test_batches_drawn_ahead_reach_the_network_in_order(tiny_rr_bundle, monkeypatch):
    """``classify_windows`` draws the next batch in a thread: each batch's images and "rr"
    rows must still be its own, in order, and the windows' own images."""
    x = long_ecg(FS, 960.0)
    peaks = np.round(beat_times(960.0) * FS).astype(np.int64)
    _, windows, rr = tiny_rr_bundle.beat_windows(x, FS, peaks)
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def record(images, rr_rows):
        seen.append((images, rr_rows))
        return np.zeros((len(images), len(tiny_rr_bundle.classes)))

    monkeypatch.setattr(tiny_rr_bundle, "predict_proba", record)
    assert len(tiny_rr_bundle.classify_windows(windows, rr)) == len(windows) > 1024
    assert [len(images) for images, _ in seen] == [512, 512, len(windows) - 1024]
    np.testing.assert_array_equal(
        np.concatenate([images for images, _ in seen]), tiny_rr_bundle.render(windows)
    )
    np.testing.assert_array_equal(np.concatenate([rows for _, rows in seen]), rr)
