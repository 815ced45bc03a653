"""prediction_create / _create_many / _delete: file and row together, or nothing."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier import services
from classifier.model_service import ModelNotInstalledError, PredictionFailedError
from classifier.models import Prediction
from ecgsite.model_registry import get_model_registry
from tests.conftest import BEAT_FAVOURS
from tests.factories import beat_image_bytes

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def png(name="Doe_John_beat.png", **kw) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, beat_image_bytes(**kw), content_type="image/png")


def test_create_stores_file_under_random_name_and_all_fields(user, installed_tiny_models, settings):
    p = services.prediction_create(
        owner=user, uploaded_file=png(), image_type="beat_image",
        patient_reference=" P-017 ", note="resting ECG",
    )  # fmt: skip
    p.refresh_from_db()
    assert p.owner == user
    assert p.original_name == "Doe_John_beat.png"
    assert "Doe" not in p.image.name and p.image.name.startswith("uploads/")
    assert p.image.name.endswith(".png")
    assert (p.image_type, p.image_type_detected) == ("beat_image", False)
    assert p.predicted_class == BEAT_FAVOURS
    assert p.confidence == pytest.approx(max(p.probabilities.values()))
    # model order, also on PostgreSQL whose jsonb does not keep key order
    assert list(p.ordered_probabilities()) == ["L", "N", "A", "V", "R", "!"]
    assert sum(p.probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert (p.model_name, p.model_version) == ("tiny-beat", "0.0-test")
    assert (p.patient_reference, p.note) == ("P-017", "resting ECG")
    assert stored_files(settings) == [Path(settings.MEDIA_ROOT) / p.image.name]


def test_extension_comes_from_content_not_name(user, installed_tiny_models):
    upload = SimpleUploadedFile("beat.png", beat_image_bytes("JPEG"), content_type="image/png")
    p = services.prediction_create(owner=user, uploaded_file=upload)
    assert p.image.name.endswith(".jpg")
    assert p.image_type_detected is True


def test_invalid_file_stores_nothing(user, installed_tiny_models, settings):
    bad = SimpleUploadedFile("x.png", b"GIF89a garbage", content_type="image/png")
    with pytest.raises(ValidationError):
        services.prediction_create(owner=user, uploaded_file=bad)
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_no_model_stores_nothing(user, settings):
    with pytest.raises(ModelNotInstalledError):
        services.prediction_create(owner=user, uploaded_file=png())
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_failing_prediction_stores_nothing(user, installed_tiny_models, settings, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("model crashed")

    registry = get_model_registry()
    registry.warm_up()  # the models load fine; they fail later, on the uploads
    for kind in registry.installed_image_kinds():
        monkeypatch.setattr(registry.serving_bundle(kind=kind), "predict_proba", boom)
    with pytest.raises(PredictionFailedError, match="model crashed"):
        services.prediction_create(owner=user, uploaded_file=png())
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_failing_row_save_removes_the_written_file(
    user, installed_tiny_models, settings, monkeypatch
):
    def boom(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(Prediction, "save", boom)
    with pytest.raises(RuntimeError, match="database down"):
        services.prediction_create(owner=user, uploaded_file=png())
    assert stored_files(settings) == []


def test_create_many_is_all_or_nothing(user, installed_tiny_models, settings, monkeypatch):
    real_classify = services.classify_image
    calls = []

    def fail_on_third(image, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("third file fails")
        return real_classify(image, **kw)

    monkeypatch.setattr(services, "classify_image", fail_on_third)
    files = [png(f"b{i}.png", seed=i) for i in range(4)]
    with pytest.raises(RuntimeError, match="third file fails"):
        services.prediction_create_many(owner=user, uploaded_files=files)
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_create_many_stores_each_file(user, installed_tiny_models, settings):
    files = [png(f"b{i}.png", seed=i) for i in range(3)]
    created = services.prediction_create_many(owner=user, uploaded_files=files, note="batch")
    assert [p.original_name for p in created] == ["b0.png", "b1.png", "b2.png"]
    assert len({p.image.name for p in created}) == 3
    assert len(stored_files(settings)) == 3


def test_delete_removes_row_and_file_after_commit(
    user, installed_tiny_models, settings, django_capture_on_commit_callbacks
):
    p = services.prediction_create(owner=user, uploaded_file=png())
    with django_capture_on_commit_callbacks(execute=True):
        services.prediction_delete(prediction=p)
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("RGBA", "PNG"), ("CMYK", "JPEG"), ("I;16", "PNG"), ("1", "BMP"), ("P", "PNG")],
)
def test_unusual_pixel_formats_are_classified(user, installed_tiny_models, mode, fmt):
    import io

    from PIL import Image

    base = Image.open(io.BytesIO(beat_image_bytes()))
    image = base.convert("RGB").convert(mode) if mode != "I;16" else base.convert("I;16")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    upload = SimpleUploadedFile(f"x.{fmt.lower()}", buffer.getvalue())
    p = services.prediction_create(owner=user, uploaded_file=upload, image_type="beat_image")
    assert p.predicted_class == BEAT_FAVOURS


@pytest.mark.django_db(transaction=True)  # no test-wide transaction: see what the service opens
def test_create_many_runs_the_model_and_writes_files_outside_any_transaction(
    user, installed_tiny_models, settings, monkeypatch
):
    # On SQLite an open writing transaction holds the write lock: every other user waits.
    from django.db import connection

    real_classify = services.classify_image
    storage = Prediction._meta.get_field("image").storage
    real_save = storage.save
    in_transaction = []

    def classify(image, **kw):
        in_transaction.append(("model", connection.in_atomic_block))
        return real_classify(image, **kw)

    def save(name, content, **kw):
        in_transaction.append(("file", connection.in_atomic_block))
        return real_save(name, content, **kw)

    monkeypatch.setattr(services, "classify_image", classify)
    monkeypatch.setattr(storage, "save", save)
    files = [png(f"b{i}.png", seed=i) for i in range(3)]
    created = services.prediction_create_many(owner=user, uploaded_files=files)
    assert len(created) == Prediction.objects.count() == 3
    assert in_transaction == [("model", False), ("file", False)] * 3


def test_create_many_failing_row_write_leaves_no_row_and_no_file(
    user, installed_tiny_models, settings, monkeypatch
):
    real_save = Prediction.save
    saves = []

    def fail_on_second(self, *args, **kwargs):
        saves.append(1)
        if len(saves) == 2:
            raise RuntimeError("database locked")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Prediction, "save", fail_on_second)
    files = [png(f"b{i}.png", seed=i) for i in range(3)]
    with pytest.raises(RuntimeError, match="database locked"):
        services.prediction_create_many(owner=user, uploaded_files=files)
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []
