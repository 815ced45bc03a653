"""The model's calibration (class prior, then temperature) is what the analysis serves (issue 18):
the stored and shown probabilities are the calibrated ones its "uncertain" threshold was
fitted on, while the conduction finding, chosen on the model's own probabilities, reads those
back, at the analysis and at a review's recount."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg.models.bundle import ModelBundle, load_bundle
from ecg.models.calibration import calibrated_probabilities, model_probabilities
from ecg.recording_analysis import analyse
from tests.factories import build_tiny_bundle

from .synth import lead_pair_recording

# Strong on purpose: a sharp temperature and the whole prior, N far the most common.
CALIBRATION = {
    "temperature": 0.5,
    "uncertain_below": 0.6,
    "class_prior": {"prior": [0.05, 0.8, 0.03, 0.07, 0.04, 0.01], "tau": 1.0},
}


def calibrated_copy(bundle: ModelBundle) -> ModelBundle:
    return ModelBundle(bundle.model, {**bundle.metadata, "calibration": CALIBRATION}, bundle.path)


@pytest.fixture(scope="module")
def four_lead(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibrated-four-lead")
    return load_bundle(build_tiny_bundle(folder, "tiny_four_lead", task="recording",
                                         leads=["MLII", "II", "III", "V1", "V5"]))  # fmt: skip


def test_the_analysis_serves_calibrated_probabilities_and_reads_conduction_on_the_model_s(
    four_lead,
):
    recording = lead_pair_recording(["MLII", "V1"])
    plain = analyse(recording, four_lead)
    served = analyse(recording, calibrated_copy(four_lead))
    np.testing.assert_array_equal(served.beats.samples, plain.beats.samples)
    expected = calibrated_probabilities(plain.beats.probabilities, CALIBRATION)
    np.testing.assert_allclose(served.beats.probabilities, expected, atol=1e-5)
    assert (expected.argmax(axis=1) != plain.beats.probabilities.argmax(axis=1)).any()
    assert served.summary["calibration_applied"] == {
        k: CALIBRATION[k] for k in ("temperature", "class_prior")
    }
    assert "calibration_applied" not in plain.summary
    readable = served.states != "unreadable"
    assert not (served.states[readable] == "classified")[
        served.beats.probabilities[readable].max(axis=1) < 0.6
    ].any()
    # The finding reads the model's own probabilities on every lead: as without calibration.
    mine, theirs = served.summary["conduction"], plain.summary["conduction"]
    assert [e["lead"] for e in mine["leads"]] == ["MLII", "V1"]
    for a, b in zip(mine["leads"], theirs["leads"], strict=True):
        np.testing.assert_allclose(a["mean"], b["mean"], atol=2e-3)


@pytest.mark.django_db
def test_a_review_recount_reads_the_stored_probabilities_back_as_the_model_gave_them(
    client, settings, tmp_path, alice, django_capture_on_commit_callbacks, tiny_bundle
):
    from recordings import review_services
    from recordings.selectors import _probabilities

    from .synth import beat_times, ecg
    from .test_unreadable import FS, csv_bytes, upload_csv

    folder = tmp_path / "models"
    path = build_tiny_bundle(folder, "tiny_recording", task="recording")
    meta = path.with_suffix(".json")
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"calibration": CALIBRATION}))
    settings.MEDIA_ROOT, settings.MODELS_DIR = tmp_path / "media", folder
    settings.RECORDING_TASKS_SYNC = True
    times = beat_times(60.0)
    recording = upload_csv(client, alice, csv_bytes(ecg(FS, 60.0, times)),
                           django_capture_on_commit_callbacks)  # fmt: skip
    assert recording.summary["calibration_applied"]["temperature"] == 0.5
    stored = _probabilities(recording).astype(np.float64)
    own = model_probabilities(stored, CALIBRATION)
    states = np.array(list(recording.beats.order_by("index").values_list("state", flat=True)))
    used = states != "unreadable"
    n_index = 1  # "N" in the six classes
    analysed = recording.summary["conduction"]["leads"][0]["mean"]
    assert analysed[n_index] == pytest.approx(own[used, n_index].mean(), abs=2e-3)

    first = int(np.flatnonzero(used)[0])
    review_services.beat_correct(user=alice, recording=recording, beat_indices=[first], label="N")
    recording.refresh_from_db()
    recount = recording.summary["conduction"]["leads"][0]["mean"][n_index]
    count = int(used.sum())
    expected = (own[used, n_index].sum() - own[first, n_index] + 1.0) / count
    as_stored = (stored[used, n_index].sum() - stored[first, n_index] + 1.0) / count
    assert recount == pytest.approx(expected, abs=1e-3)
    assert abs(as_stored - expected) > 0.01  # the test tells the two readings apart
