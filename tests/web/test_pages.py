"""Content pages: home, class info, about (metrics from files), contact; local static assets."""

import json

import pytest
from django.urls import reverse

from ecg.classes import SIX_CLASS
from pages.content import CLASS_PAGES
from tests.factories import build_tiny_bundle

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["pages:home", "pages:classes", "pages:about", "pages:contact"])
def test_public_pages_render_for_anonymous_users(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert "not a diagnosis" in body
    assert "/static/vendor/bootstrap/bootstrap.min.css" in body
    assert "cdn" not in body.lower() and "https://" not in body.replace("https://physionet", "")


def test_home_links_to_upload_and_history_when_logged_in(user_client):
    body = user_client.get(reverse("pages:home")).content.decode()
    assert reverse("classifier:upload") in body and reverse("pages:history") in body


def test_home_page_offers_recordings_too(client, user_client):
    anonymous = " ".join(client.get(reverse("pages:home")).content.decode().split())
    assert "upload a whole recording (WFDB, CSV or EDF)" in anonymous
    body = user_client.get(reverse("pages:home")).content.decode()
    assert f'href="{reverse("recordings:upload")}"' in body


def test_one_info_page_per_model_class(client):
    assert [p.code for p in CLASS_PAGES] == [c.code for c in SIX_CLASS]
    for page in CLASS_PAGES:
        response = client.get(reverse("pages:class_info", args=[page.slug]))
        assert response.status_code == 200
        body = response.content.decode()
        assert page.name in body
        for heading in ("What it is", "Signs on the ECG", "Symptoms", "When to see a doctor"):
            assert heading in body
    assert client.get(reverse("pages:class_info", args=["nope"])).status_code == 404


def test_about_says_not_yet_measured_without_metrics(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "cnn-beat", kind="beat_image")
    body = client.get(reverse("pages:about")).content.decode()
    assert "cnn-beat" in body and "Not yet measured" in body


def test_about_quotes_the_pipelines_metrics_file(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "cnn-beat", kind="beat_image")
    six = {
        "n_beats": 49_000, "accuracy": 0.9123, "macro_f1": 0.6789, "ece": 0.0412,
        "per_class": {"V": {"support": 3200, "sensitivity": 0.871, "precision": 0.9, "f1": 0.885}},
    }  # fmt: skip
    metrics = {
        "model": "cnn-beat",
        "splits": {
            "inter": {"six_class": six, "aami": {"accuracy": 0.8876}},
            "intra": {"six_class": {**six, "accuracy": 0.9912}},
        },
    }
    (tmp_path / "cnn-beat.metrics.json").write_text(json.dumps(metrics))
    body = client.get(reverse("pages:about")).content.decode()
    assert "cnn-beat.metrics.json" in body
    assert "91.2 %" in body and "99.1 %" in body and "0.679" in body and "88.8 %" in body
    assert "New patients" in body and "Random beats" in body
    assert "87.1 %" in body  # per-class sensitivity of V
    assert "Not yet measured" not in body
    assert "0.679 <span" not in body  # no bootstrap block in the file: no interval shown


def test_about_shows_the_intervals_over_test_patients_when_measured(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "cnn-beat", kind="beat_image")
    bootstrap = {
        "macro_f1": [0.4681, 0.7104],
        "per_class": {"V": {"sensitivity": [0.8764, 0.9817], "precision": [0.5, 0.9]}},
    }
    six = {
        "n_beats": 49_000, "accuracy": 0.81, "macro_f1": 0.6064, "ece": 0.03,
        "per_class": {"V": {"support": 3200, "sensitivity": 0.931, "precision": 0.77, "f1": 0.85}},
        "bootstrap": bootstrap,
    }  # fmt: skip
    metrics = {"model": "cnn-beat", "splits": {"inter": {"six_class": six}}}
    (tmp_path / "cnn-beat.metrics.json").write_text(json.dumps(metrics))
    body = client.get(reverse("pages:about")).content.decode()
    assert "0.606" in body and "(0.468–0.710)" in body
    assert "93.1 %" in body and "(87.6 %–98.2 %)" in body


def test_about_falls_back_to_summary_numbers(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "m", kind="beat_image", metrics_summary={"accuracy": 0.5})
    body = client.get(reverse("pages:about")).content.decode()
    assert "accuracy" in body and "0.5" in body and "Not yet measured" not in body


def test_about_survives_a_broken_metrics_file(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "m", kind="beat_image")
    (tmp_path / "m.metrics.json").write_text("{not json")
    response = client.get(reverse("pages:about"))
    assert response.status_code == 200 and "Not yet measured" in response.content.decode()


def test_static_bootstrap_is_vendored(settings):
    from django.contrib.staticfiles import finders

    for name in ("bootstrap.min.css", "bootstrap.bundle.min.js", "LICENSE"):
        assert finders.find(f"vendor/bootstrap/{name}")


def test_about_shows_how_far_other_seeds_moved_the_new_patient_score(client, settings, tmp_path):
    import hashlib

    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "rec", kind="beat_image")
    six = {"n_beats": 10, "accuracy": 0.8, "macro_f1": 0.6064, "ece": 0.03, "per_class": {}}
    (tmp_path / "rec.metrics.json").write_text(
        json.dumps({"model": "rec", "splits": {"inter": {"six_class": six}}})
    )
    digest = hashlib.sha256((tmp_path / "rec.keras").read_bytes()).hexdigest()
    seeds = [{"seed": s, "macro_f1": f} for s, f in enumerate([0.6064, 0.4862, 0.7147])]
    spread = {"model": "rec", "model_sha256": digest, "shipped_seed": 0, "seeds": seeds}
    (tmp_path / "rec.seeds.json").write_text(json.dumps(spread))
    body = client.get(reverse("pages:about")).content.decode()
    assert "Trained again 3 times" in body and "from 0.486 to 0.715 (mean 0.602)" in body
    assert "rec.seeds.json" in body
    # measured on another version of the model file: not shown
    (tmp_path / "rec.seeds.json").write_text(json.dumps({**spread, "model_sha256": "0" * 64}))
    assert "Trained again" not in client.get(reverse("pages:about")).content.decode()


def test_about_says_what_each_model_answers_and_what_it_learned_from(client, settings, tmp_path):
    import hashlib

    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "beats", kind="beat_image")
    meta_path = tmp_path / "beats.json"
    meta = json.loads(meta_path.read_text())
    meta["training"] = {"data": "MIT-BIH DS1 and PTB-XL folds 1-8"}
    meta["calibration"] = {"uncertain_below": 0.668, "fitted_on": "four validation records"}
    meta["leads"] = ["MLII", "V1", "V1"]
    meta_path.write_text(json.dumps(meta))
    digest = hashlib.sha256((tmp_path / "beats.keras").read_bytes()).hexdigest()
    external = {
        "model_sha256": digest, "source": "x", "about": "y",
        "ensemble": {"DS2 L Se": 0.377, "LUDB sinus no BBB V share": 0.0033},
    }  # fmt: skip
    (tmp_path / "beats.external.json").write_text(json.dumps(external))
    body = " ".join(client.get(reverse("pages:about")).content.decode().split())
    assert "Answers beat images." in body
    assert "Data: MIT-BIH DS1 and PTB-XL folds 1-8." in body and "Leads: MLII, V1." in body
    assert "uncertain below a calibrated confidence of 66.8 %" in body
    assert "(fitted on four validation records)" in body
    assert "beats.external.json" in body and "DS2 L recall" in body and "0.377" in body
    assert "beats.conduction.json" not in body  # no file: no conduction table
    found = {"model_sha256": digest, "source": "x", "about": "y",
             "figures": {"all leads": {"R": {"F1": 0.8954}}}}  # fmt: skip
    (tmp_path / "beats.conduction.json").write_text(json.dumps(found))
    body = " ".join(client.get(reverse("pages:about")).content.decode().split())
    assert "beats.conduction.json" in body and "all leads: record F1 CRBBB" in body
    assert "0.895" in body
    # figures measured on another version of the model file are not shown
    (tmp_path / "beats.external.json").write_text(json.dumps({**external, "model_sha256": "0"}))
    (tmp_path / "beats.conduction.json").write_text(json.dumps({**found, "model_sha256": "0"}))
    body = client.get(reverse("pages:about")).content.decode()
    assert "beats.external.json" not in body and "beats.conduction.json" not in body


def test_about_marks_a_model_the_app_does_not_use(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    settings.IMAGE_MODELS = {"beat_image": "second"}
    build_tiny_bundle(tmp_path, "first", kind="beat_image")
    build_tiny_bundle(tmp_path, "second", kind="beat_image")
    body = " ".join(client.get(reverse("pages:about")).content.decode().split())
    assert body.count("Answers beat images.") == 1
    assert "Not used by the app: kept for comparison." in body


def test_about_says_how_to_choose_the_two_lead_model_and_names_its_leads(client, settings):
    """The shipped two-lead model is not served by default: the About page says how to choose
    it and names both of its input leads."""
    settings.MODELS_DIR = settings.BASE_DIR / "models"
    body = " ".join(client.get(reverse("pages:about")).content.decode().split())
    assert (
        "Not used by the app unless chosen in the settings "
        "(RECORDING_MODEL=recording_two_lead); kept for comparison." in body
    )
    assert "Leads: MLII or II with V1 or V5, read together as one input." in body


def test_footer_names_both_training_databases(client):
    body = client.get(reverse("pages:home")).content.decode()
    assert "MIT-BIH Arrhythmia Database" in body and "PTB-XL (CC BY 4.0)" in body


def test_about_says_whether_recordings_are_read_in_int8(client, settings, tmp_path):
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "cnn-beat", kind="beat_image")
    assert "8-bit integers" in client.get(reverse("pages:about")).content.decode()  # default
    settings.RECORDING_MODEL_PRECISION = "float32"
    assert "8-bit integers" not in client.get(reverse("pages:about")).content.decode()


def test_about_says_how_the_served_recording_model_reads_the_leads(client, settings, tmp_path):
    """Only what is done: the shipped model reads beats on one lead (its lead-fusion rule is
    "primary"); a model whose metadata fuses a second lead, or one that reads two leads as one
    input, is described as such."""

    def about() -> str:
        return " ".join(client.get(reverse("pages:about")).content.decode().split())

    settings.MODELS_DIR = settings.BASE_DIR / "models"
    body = about()
    assert "Each beat is classified on the analysed lead" in body
    assert "probabilities are combined" not in body
    settings.MODELS_DIR = tmp_path
    build_tiny_bundle(tmp_path, "fusing", kind="spectrogram", task="recording", with_rr=True,
                      lead_fusion={"rule": "mean"})  # fmt: skip
    body = about()
    assert "each beat is read on it too and the two leads' probabilities are combined" in body
    assert "Each beat is classified on the analysed lead" not in body
    (tmp_path / "fusing.keras").unlink()
    build_tiny_bundle(tmp_path, "pair", kind="spectrogram", task="recording", with_rr=True,
                      channels=2, channel_leads=[["MLII"], ["V1"]])  # fmt: skip
    assert "reads two leads at once" in about()
