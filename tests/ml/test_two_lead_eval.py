"""evaluate_model on a two-channel model (issue 17): the table's beats, both leads read by the
serving path, the metrics file the one-lead models get. A tiny untrained two-channel model on
synthetic two-lead records named like DS1 (101), DS1 validation (106) and DS2 (100) records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecg.models.bundle import load_bundle
from ecg.training import dataset, pipeline
from ecg.training.evaluation import evaluate_on_split
from ecg.training.report import target_rows
from ecg.training.two_lead import two_lead_inputs
from ecg.training.two_lead_eval import TwoLeadScorer, record_upload
from tests.factories import build_tiny_bundle
from tests.ml.conftest import FS, synthetic_ecg

pytestmark = pytest.mark.slow

LEADS = [["MLII", "II"], ["V1", "V5"]]
RECORDS = {"100": ("MLII", "V1"), "101": ("MLII", "V1"), "106": ("MLII", "V4")}


def write_two_lead_record(directory: Path, name: str, second: str, seed: int) -> None:
    """MLII and a second lead of another shape (inverted, smaller) at the same beats."""
    import wfdb

    primary, peaks, symbols = synthetic_ecg(60, seed)
    other = -0.6 * synthetic_ecg(60, seed + 10)[0]
    wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=["MLII", second],
                p_signal=np.stack([primary, other], axis=1), fmt=["16", "16"],
                write_dir=str(directory))  # fmt: skip
    wfdb.wrann(name, "atr", peaks, list(symbols), write_dir=str(directory))


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    data = tmp_path_factory.mktemp("wfdb")
    for seed, (name, (_, second)) in enumerate(RECORDS.items()):
        write_two_lead_record(data, name, second, seed)
    models = tmp_path_factory.mktemp("models")
    path = build_tiny_bundle(models, "tiny_two_lead", kind="spectrogram", task="recording",
                             with_rr=True, channels=2, channel_leads=LEADS)  # fmt: skip
    table = dataset.build_beat_table(data, list(RECORDS))
    return data, models, path, table


def served_at_table_beats(bundle, upload, second) -> np.ndarray:
    """Probabilities of both leads drawn at the reference beats by the serving-side
    ``two_lead_inputs``, at the beats the table keeps (its wider stored window drops more)."""
    peaks = upload.ann_samples
    kept, images, rr = two_lead_inputs(bundle, upload.signals[0], second, FS, peaks)
    pre, post = int(0.35 * FS), int(0.55 * FS)
    stored = np.flatnonzero((peaks - pre >= 0) & (peaks + post <= upload.n_samples))
    at = np.searchsorted(kept, stored)
    return bundle.predict_proba(images[at], rr[at])


def test_the_scorer_gives_the_serving_inputs_probabilities_at_the_tables_beats(setting):
    data, _, path, table = setting
    bundle = load_bundle(path)
    rows = np.flatnonzero(table.records == "100")
    probs = TwoLeadScorer(bundle, data, table)(rows)
    upload = record_upload(data, "100")
    assert probs.shape == (len(rows), 6)
    np.testing.assert_allclose(probs, served_at_table_beats(bundle, upload, upload.signals[1]),
                               atol=1e-5)  # fmt: skip
    # the second channel is read: the primary twice gives other probabilities
    assert np.abs(served_at_table_beats(bundle, upload, None) - probs).max() > 1e-4


def test_a_second_lead_the_model_was_not_trained_on_gives_the_primary_twice(setting):
    data, _, path, table = setting  # record 106's second lead is V4 (as MIT-BIH 124's)
    bundle = load_bundle(path)
    rows = np.flatnonzero(table.records == "106")
    probs = TwoLeadScorer(bundle, data, table)(rows)
    upload = record_upload(data, "106")
    np.testing.assert_allclose(probs, served_at_table_beats(bundle, upload, None), atol=1e-5)


def test_the_split_metrics_have_the_one_lead_shape(setting):
    data, _, path, table = setting
    bundle = load_bundle(path)
    split = pipeline.make_splits(table)["inter"]
    result = evaluate_on_split(
        bundle, table, split, probabilities=TwoLeadScorer(bundle, data, table)
    )
    six = result["six_class"]
    assert six["n_beats"] == len(split.test) and sorted(six["per_record_confusion"]) == ["100"]
    assert {"accuracy", "macro_f1", "ece", "per_class", "bootstrap", "auc_ovr"} <= set(six)
    assert set(six["per_class"]) == set(bundle.classes)
    assert set(result["aami"]["summary"]) == {"VEB", "SVEB"}
    assert set(result["aami"]["summary"]["VEB"]) >= {"Se", "+P"}


def test_evaluate_model_writes_its_metrics_file_and_only_leaves_the_rest(setting):
    data, models, _, _ = setting
    kwargs = {"records": list(RECORDS), "speed_record": "100", "progress": lambda _: None}
    pipeline.evaluate_models(data, models, **kwargs)
    written = json.loads((models / "tiny_two_lead.metrics.json").read_text())
    mixed = json.loads((Path(pipeline.__file__).parents[2] / "models" /
                        "recording_mixed.metrics.json").read_text())  # fmt: skip
    # speed: recording_benchmark.py --model; "evaluated": each file's own stamp (with --only),
    # which the shipped file has too when it was last written by an --only run
    assert set(written) - {"evaluated"} == set(mixed) - {"speed", "evaluated"}
    assert set(written["splits"]) == {"inter"}
    inter = written["splits"]["inter"]
    assert set(inter) == set(mixed["splits"]["inter"]) | {"two_lead_inputs"}
    assert inter["two_lead_inputs"]["second_lead"] == {"100": "V1"}  # the DS2 record scored
    assert written["splits"]["inter"]["validation_check"]["recorded_at_training"] is None
    assert (models / "tiny_two_lead.inter.confusion.png").is_file()
    report = (models / "REPORT.md").read_text()
    assert "### tiny_two_lead" in report and "second lead V1: 1 records" in report
    # its target rows say speed is timed elsewhere, not that it missed the target
    rows = target_rows({"tiny_two_lead": written}, "tiny_two_lead", None)
    assert sum("not evaluated: a two-channel model" in r for r in rows) == 2
    # --only: that model again, the last full run's context kept as it was
    context = models / "evaluation.json"
    context.write_text(context.read_text().replace('"n_records": 3', '"n_records": 99'))
    pipeline.evaluate_models(data, models, only=["tiny_two_lead"], **kwargs)
    assert json.loads(context.read_text())["n_records"] == 99
    with pytest.raises(FileNotFoundError, match="no model nothing"):
        pipeline.evaluate_models(data, models, only=["nothing"], **kwargs)


def test_the_ludb_benchmark_scores_the_same_beats_on_every_path(setting, tmp_path):
    from benchmarks.two_lead_ludb import PATHS, calls
    from ecg.io.recording_base import ParsedRecording

    _, _, path, _ = setting
    one_lead = build_tiny_bundle(tmp_path, "tiny_one_lead", kind="spectrogram",
                                 task="recording", with_rr=True)  # fmt: skip
    primary, peaks, _ = synthetic_ecg(20, 0)
    second = -0.6 * synthetic_ecg(20, 10)[0]
    recording = ParsedRecording("ludb1", "wfdb", FS, ["II", "V1"],
                                np.stack([primary, second]).astype(np.float32), 0, [])  # fmt: skip
    got = calls(load_bundle(path), load_bundle(one_lead), recording, peaks)
    assert list(got) == list(PATHS)
    assert {len(v) for v in got.values()} == {len(peaks)}
