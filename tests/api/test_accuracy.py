"""Reading a model's measured accuracy from what the pipeline wrote."""

import json

from reports.accuracy import measured_accuracy

METRICS = {
    "name": "beat_cnn",
    "splits": {
        "intra": {"split_description": "random beats", "six_class": {"accuracy": 0.99}},
        "inter": {
            "split_description": "patient-wise: DS1 train, DS2 test",
            "six_class": {"accuracy": 0.87, "macro_f1": 0.5},
        },
    },
}


def test_patient_wise_accuracy_from_the_metrics_file_wins(tmp_path):
    (tmp_path / "beat_cnn.metrics.json").write_text(json.dumps(METRICS))
    accuracy, basis = measured_accuracy({"name": "beat_cnn"}, tmp_path)
    assert accuracy == 0.87 and basis == "patient-wise: DS1 train, DS2 test"


def test_metadata_summary_is_read_first_and_nothing_means_none(tmp_path):
    assert measured_accuracy({"name": "x", "metrics_summary": {"accuracy": 0.9}}, tmp_path) == (
        0.9,
        "",
    )
    assert measured_accuracy({"name": "missing"}, tmp_path) == (None, "")
    (tmp_path / "bad.metrics.json").write_text("{not json")
    assert measured_accuracy({"name": "bad"}, tmp_path) == (None, "")
    assert measured_accuracy({"name": "x", "metrics_summary": {"accuracy": 7}}, tmp_path) == (
        None,
        "",
    )
