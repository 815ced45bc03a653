"""/api/v1/predictions/: every endpoint's success and error cases, privacy, throttling."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image
from pypdf import PdfReader

from classifier.models import Prediction
from reports.models import PredictionHeatMap
from tests.api.conftest import upload
from tests.conftest import BEAT_FAVOURS, SPECTROGRAM_FAVOURS
from tests.factories import beat_image_bytes, spectrogram_image_bytes

pytestmark = pytest.mark.django_db
LIST = "/api/v1/predictions/"


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- POST ------------------------------------------------------------------------------------


def test_post_classifies_stores_and_answers_with_the_prediction(alice_api, installed_tiny_models):
    response = upload(alice_api, patient_reference="PAT-042", note="lead II")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["predicted_class"] == BEAT_FAVOURS
    assert body["predicted_class_name"] == "Premature Ventricular Contraction"
    assert body["image_type"] == "beat_image" and body["image_type_detected"] is True
    assert body["model"] == {"name": "tiny-beat", "version": "0.0-test"}
    assert body["patient_reference"] == "PAT-042"
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert body["confidence"] == pytest.approx(body["probabilities"][BEAT_FAVOURS])
    assert response["Location"].endswith(f"/api/v1/predictions/{body['id']}/")
    assert body["links"]["report"].endswith(f"/api/v1/predictions/{body['id']}/report/")
    prediction = Prediction.objects.get(pk=body["id"])
    assert prediction.owner.username == "alice" and len(stored_files()) == 1


def test_post_with_an_explicit_image_type(alice_api, installed_tiny_models):
    response = upload(alice_api, spectrogram_image_bytes(), image_type="spectrogram")
    assert response.status_code == 201
    assert response.json()["predicted_class"] == SPECTROGRAM_FAVOURS
    assert response.json()["image_type_detected"] is False


@pytest.mark.parametrize(
    ("data", "fields", "field", "fragment"),
    [
        (False, {}, "image", "No file was submitted."),
        (b"not an image at all", {}, "image", "image: “beat.png” is not an image"),
        (b"", {}, "image", "The submitted file is empty."),
        (None, {"image_type": "xray"}, "image_type", '"xray" is not a valid choice.'),
        (None, {"patient_reference": "Jane <Doe>"}, "patient_reference", "pseudonymous code"),
        (None, {"patient_reference": "x" * 65}, "patient_reference", "no more than 64"),
    ],
    ids=["missing", "not-an-image", "empty", "bad-type", "bad-reference", "long-reference"],
)
def test_post_rejects_bad_input_with_a_clear_400_and_stores_nothing(
    alice_api, installed_tiny_models, data, fields, field, fragment
):
    response = upload(alice_api, data, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"]
    assert fragment in body["message"]
    assert Prediction.objects.count() == 0 and stored_files() == []


def test_post_too_large_an_upload(alice_api, installed_tiny_models, settings):
    settings.UPLOAD_MAX_BYTES = 100
    response = upload(alice_api)
    assert response.status_code == 400 and "the limit is 100" in response.json()["message"]
    assert stored_files() == []


def test_post_without_an_installed_model_is_a_503(alice_api):
    response = upload(alice_api)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "model_not_installed" and "No beat image model" in body["message"]
    assert Prediction.objects.count() == 0 and stored_files() == []


def test_a_model_failure_is_a_clear_503_and_stores_nothing(
    alice_api, installed_tiny_models, monkeypatch
):
    from classifier import services

    def boom(*args, **kwargs):
        raise RuntimeError("interpreter exploded")

    monkeypatch.setattr(services, "classify_image", boom)
    response = upload(alice_api)
    assert response.status_code == 503
    assert "nothing was stored" in response.json()["message"]
    assert Prediction.objects.count() == 0 and stored_files() == []


def test_json_body_is_refused_politely(alice_api):
    response = alice_api.post(LIST, {"image": "x"}, format="json")
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["message"]


# -- GET list ----------------------------------------------------------------------------------


def test_list_is_paginated_filtered_and_holds_only_your_own(
    alice_api, bob_api, installed_tiny_models
):
    for i in range(3):
        assert (
            upload(alice_api, beat_image_bytes(seed=i), patient_reference=f"A-{i}").status_code
            == 201
        )
    assert upload(alice_api, spectrogram_image_bytes(), image_type="spectrogram").status_code == 201
    assert upload(bob_api, patient_reference="A-0").status_code == 201

    page = alice_api.get(LIST, {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert alice_api.get(page["next"]).json()["results"][-1]["patient_reference"] == "A-0"

    by_class = alice_api.get(LIST, {"predicted_class": SPECTROGRAM_FAVOURS}).json()
    assert [r["image_type"] for r in by_class["results"]] == ["spectrogram"]
    assert alice_api.get(LIST, {"image_type": "beat_image"}).json()["count"] == 3
    assert [
        r["patient_reference"] for r in alice_api.get(LIST, {"q": "a-1"}).json()["results"]
    ] == ["A-1"]
    assert bob_api.get(LIST).json()["count"] == 1


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"date_from": "yesterday"}, "date_from: Enter a valid date."),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "must not be after"),
        ({"predicted_class": "Z"}, "predicted_class: Select a valid choice."),
        ({"page": 9}, "Invalid page."),
    ],
)
def test_list_rejects_bad_filters(alice_api, params, fragment):
    response = alice_api.get(LIST, params)
    assert response.status_code in (400, 404)
    assert fragment in response.json()["message"]


# -- one prediction ----------------------------------------------------------------------------


def test_get_one_and_its_image(alice_api, installed_tiny_models):
    created = upload(alice_api).json()
    one = alice_api.get(f"{LIST}{created['id']}/")
    assert one.status_code == 200 and one.json() == created
    image = alice_api.get(f"{LIST}{created['id']}/image/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == beat_image_bytes()


def test_other_users_records_are_404_everywhere(alice_api, bob_api, installed_tiny_models):
    pk = upload(alice_api).json()["id"]
    for suffix in ("", "image/", "heatmap/", "report/"):
        response = bob_api.get(f"{LIST}{pk}/{suffix}")
        assert response.status_code == 404, suffix
        assert response.json()["message"] == "Not found."
    assert bob_api.delete(f"{LIST}{pk}/").status_code == 404
    assert Prediction.objects.filter(pk=pk).exists()
    assert alice_api.get(f"{LIST}999999/").status_code == 404


def test_delete_removes_row_image_and_heat_map(
    alice_api, installed_tiny_models, django_capture_on_commit_callbacks
):
    pk = upload(alice_api).json()["id"]
    assert alice_api.get(f"{LIST}{pk}/heatmap/").status_code == 200
    assert len(stored_files()) == 2  # the upload and its heat map
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(f"{LIST}{pk}/")
    assert response.status_code == 204
    assert not Prediction.objects.filter(pk=pk).exists()
    assert PredictionHeatMap.objects.count() == 0 and stored_files() == []
    assert alice_api.delete(f"{LIST}{pk}/").status_code == 404


def test_method_not_allowed_is_json(alice_api):
    response = alice_api.put(f"{LIST}1/", {})
    assert response.status_code == 405 and response.json()["message"] == 'Method "PUT" not allowed.'


# -- heat map and report -----------------------------------------------------------------------


def test_heat_map_is_computed_once_and_then_served_from_storage(
    alice_api, installed_tiny_models, monkeypatch
):
    from ecg.models import explain

    calls = []
    real = explain.bundle_grad_cam
    monkeypatch.setattr(
        explain, "bundle_grad_cam", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    pk = upload(alice_api).json()["id"]
    first = alice_api.get(f"{LIST}{pk}/heatmap/")
    second = alice_api.get(f"{LIST}{pk}/heatmap/")
    assert first.status_code == second.status_code == 200
    png = b"".join(first.streaming_content)
    assert png == b"".join(second.streaming_content)
    assert Image.open(io.BytesIO(png)).size == (256, 256)  # the 64x64 model input, enlarged
    assert len(calls) == 1
    heatmap = PredictionHeatMap.objects.get(prediction_id=pk)
    assert heatmap.explained_class == BEAT_FAVOURS


def test_heat_map_is_refused_when_the_model_changed(
    alice_api, installed_tiny_models, tmp_path, settings
):
    pk = upload(alice_api).json()["id"]
    from tests.factories import build_tiny_bundle

    build_tiny_bundle(tmp_path / "newer", "tiny-beat-2", kind="beat_image", seed=5)
    settings.MODELS_DIR = tmp_path / "newer"
    response = alice_api.get(f"{LIST}{pk}/heatmap/")
    assert response.status_code == 404
    assert "tiny-beat v0.0-test) is no longer installed" in response.json()["message"]


def test_report_is_a_pdf_with_class_reference_and_heat_map(alice_api, installed_tiny_models):
    pk = upload(alice_api, patient_reference="PAT-7").json()["id"]
    response = alice_api.get(f"{LIST}{pk}/report/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="ecg-prediction-{pk}.pdf"' in response["Content-Disposition"]
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "PAT-7" in text and "Premature Ventricular Contraction (V)" in text
    assert "tiny-beat v0.0-test" in text and "not a diagnosis" in text
    assert len(reader.pages[0].images) == 2


# -- throttling --------------------------------------------------------------------------------


def test_throttle_limits_each_user_separately(alice_api, bob_api, settings):
    settings.API_THROTTLE_RATE = "3/minute"
    assert [alice_api.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    limited = alice_api.get(LIST)
    assert limited.status_code == 429
    body = limited.json()
    assert body["code"] == "throttled" and "Request was throttled" in body["message"]
    assert 0 < body["retry_after_s"] <= 60 and "Retry-After" in limited
    assert bob_api.get(LIST).status_code == 200  # another user's quota is untouched


def test_heat_map_of_a_seed_ensemble_model_is_stored(alice_api, tmp_path, settings):
    # The shipped image models are seed ensembles (convolutions inside member sub-models).
    from ecg.models.architectures import build_ensemble
    from ecg.models.bundle import save_bundle
    from tests.factories import build_tiny_model, tiny_metadata

    members = [build_tiny_model(seed=seed, favour=3) for seed in (1, 2)]
    save_bundle(
        build_ensemble(members, name="tiny_ensemble"),
        tiny_metadata("tiny-ensemble", kind="beat_image"),
        tmp_path / "tiny-ensemble",
    )
    settings.MODELS_DIR = tmp_path
    pk = upload(alice_api, image_type="beat_image").json()["id"]
    response = alice_api.get(f"{LIST}{pk}/heatmap/")
    assert response.status_code == 200
    heatmap = PredictionHeatMap.objects.get(prediction_id=pk)
    assert heatmap.layer_name.startswith("member_0/") and "member_1/" in heatmap.layer_name


def test_a_heat_map_stored_twice_keeps_the_first_and_leaves_no_extra_file(
    alice_api, installed_tiny_models
):
    from reports.services import save_overlay_once

    pk = upload(alice_api).json()["id"]
    assert alice_api.get(f"{LIST}{pk}/heatmap/").status_code == 200
    first = PredictionHeatMap.objects.get(prediction_id=pk)
    files_before = stored_files()
    late = PredictionHeatMap(prediction_id=pk, explained_class="N", layer_name="x")
    kept = save_overlay_once(late, b"\x89PNG late", identity={"prediction_id": pk})
    assert kept.pk == first.pk and kept.overlay.name == first.overlay.name
    assert sorted(stored_files()) == sorted(files_before)
