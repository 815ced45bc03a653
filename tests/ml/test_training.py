"""A tiny model end to end on synthetic records: train, save, load, serve -- one path."""

import json

import numpy as np
import pytest

from ecg.io.records import load_record
from ecg.models.bundle import load_bundle, save_bundle
from ecg.training import pipeline
from ecg.training.evaluation import bundle_probabilities, evaluate_on_split
from ecg.training.training import ModelConfig, clean_inputs, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.ml.conftest import TINY_TRAINING, tiny_inter_patient_table

    root = tmp_path_factory.mktemp("wfdb")
    table, labels, split = tiny_inter_patient_table(root)
    config = ModelConfig("tiny", use_rr=True, **TINY_TRAINING)
    work = tmp_path_factory.mktemp("runs")
    model, record = train(config, table, split, labels, 6, work_dir=work)
    candidate = pipeline.Candidate(config, "recording", "recording")
    meta = pipeline.metadata_for(candidate, record, table)
    path = save_bundle(model, meta, work / "tiny")
    return root, table, split, config, model, path


def test_a_tiny_model_trains_and_round_trips_with_its_metadata(trained):
    _, table, split, config, model, path = trained
    bundle = load_bundle(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert bundle.metadata == meta
    assert meta["inputs"] == ["image", "rr"] and meta["task"] == "recording"
    assert meta["classes"] == ["L", "N", "A", "V", "R", "!"]
    assert meta["training"]["epochs_run"] == 1
    before = model.predict(clean_inputs(config, table, split.test), verbose=0)
    after = bundle_probabilities(bundle, table, split.test)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)


def test_training_and_serving_share_one_path(trained):
    """classify_beats on the raw record gives the images and probabilities evaluation used."""
    root, table, split, _, _, path = trained
    bundle = load_bundle(path)
    record = load_record(root, "100")
    peaks = record.ann_samples
    kept, images, probs = bundle.classify_beats(record.signal, record.fs, peaks)
    in_table = np.flatnonzero(table.records == "100")
    table_images = bundle.render(table.subset(in_table).crop(0.25, 0.45))
    # The table stores wider windows, so it drops a few more edge beats: find each kept beat's
    # row in the table and compare image and probabilities beat by beat.
    pre, post = int(0.35 * 360), int(0.55 * 360)
    in_both = np.flatnonzero((peaks - pre >= 0) & (peaks + post <= len(record.signal)))
    assert len(in_both) == len(in_table)
    served = np.searchsorted(kept, in_both)
    np.testing.assert_array_equal(images[served], table_images)
    np.testing.assert_allclose(
        probs[served], bundle_probabilities(bundle, table, in_table), atol=1e-6
    )


def test_evaluation_reports_both_label_sets_on_the_inter_patient_split(trained):
    _, table, split, _, _, path = trained
    result = evaluate_on_split(load_bundle(path), table, split)
    six = result["six_class"]
    assert six["n_beats"] == len(split.test)
    assert sum(map(sum, six["confusion_matrix"])) == len(split.test)
    assert set(result["aami"]["summary"]) == {"VEB", "SVEB"}
    # uncertainty over test records: per-record matrices that add up, intervals around the point
    for part in (six, result["aami"]):
        total = np.sum(list(part["per_record_confusion"].values()), axis=0)
        np.testing.assert_array_equal(total, part["confusion_matrix"])
    assert sorted(six["per_record_confusion"]) == ["100"]
    low, high = six["bootstrap"]["accuracy"]
    assert low <= six["accuracy"] <= high


def test_an_ensemble_of_seeds_averages_its_members_and_keeps_the_serving_contract(
    trained, tmp_path
):
    """train_all with ensemble_seeds trains one member per seed, reuses kept members with
    skip_existing, and ships one model whose probabilities are the members' mean."""
    _, table, split, _, _, _ = trained
    config = ModelConfig(
        "tiny_ens", max_epochs=1, cap=64, floor=16, batch_size=32, ensemble_seeds=(0, 1)
    )
    candidate = pipeline.Candidate(config, "image", "beat_image")
    records = pipeline.train_all(
        table, tmp_path, candidates=(candidate,), splits=("inter",), progress=lambda _: None
    )
    record = records["inter"]["tiny_ens"]
    assert record["ensemble"]["seeds"] == [0, 1]
    bundle = load_bundle(tmp_path / "inter" / "tiny_ens")
    assert bundle.metadata["inputs"] == ["image"]
    assert [t.name for t in bundle.model.inputs] == ["image"]
    members = [load_bundle(tmp_path / "inter" / "members" / f"tiny_ens-s{s}") for s in (0, 1)]
    mean = np.mean([bundle_probabilities(m, table, split.test) for m in members], axis=0)
    np.testing.assert_allclose(bundle_probabilities(bundle, table, split.test), mean, atol=1e-6)
    # the recorded validation macro-F1 is the ensemble's own, as evaluate_model re-checks it
    check = pipeline.validation_check(bundle, table, split)
    assert check["recomputed_here"] == pytest.approx(check["recorded_at_training"])
    # with skip_existing the members are reused, not retrained
    before = (tmp_path / "inter" / "members" / "tiny_ens-s0.keras").stat().st_mtime_ns
    (tmp_path / "inter" / "tiny_ens.keras").unlink()
    again = pipeline.train_all(
        table,
        tmp_path,
        candidates=(candidate,),
        splits=("inter",),
        skip_existing=True,
        progress=lambda _: None,
    )
    assert (tmp_path / "inter" / "members" / "tiny_ens-s0.keras").stat().st_mtime_ns == before
    assert again["inter"]["tiny_ens"]["ensemble"]["member_validation_macro_f1"] == pytest.approx(
        record["ensemble"]["member_validation_macro_f1"]
    )


def test_epochs_cap_large_classes_repeat_rare_ones_or_show_every_beat():
    """Balanced epochs (inter split) cap and floor each class; with no cap (intra split) every
    training beat is drawn once, rare classes still repeated up to the floor."""
    from ecg.training.training import _balanced_epoch

    labels = np.array([0] * 500 + [1] * 40 + [2] * 5)
    index = np.arange(len(labels)) + 1000
    rng = np.random.default_rng(0)
    chosen, weights = _balanced_epoch(labels, index, rng, cap=100, floor=20)
    counts = np.bincount(labels[chosen - 1000], minlength=3)
    assert counts.tolist() == [100, 40, 20]
    assert weights[2] > weights[1] > weights[0]
    chosen, _ = _balanced_epoch(labels, index, rng, cap=None, floor=20)
    counts = np.bincount(labels[chosen - 1000], minlength=3)
    assert counts.tolist() == [500, 40, 20]
    assert set(chosen[labels[chosen - 1000] == 0]) == set(index[:500])  # each N beat once
