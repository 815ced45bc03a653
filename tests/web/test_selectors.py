"""Selectors: what each user may read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from classifier import selectors, services
from tests.factories import beat_image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_and_bob(user, other_user, installed_tiny_models):
    def make(owner, name):
        upload = SimpleUploadedFile(name, beat_image_bytes())
        return services.prediction_create(owner=owner, uploaded_file=upload)

    return make(user, "a1.png"), make(user, "a2.png"), make(other_user, "b1.png")


def test_prediction_get_owner_staff_and_others(user, other_user, staff_user, alice_and_bob):
    a1, _, b1 = alice_and_bob
    assert selectors.prediction_get(user=user, pk=a1.pk) == a1
    assert selectors.prediction_get(user=staff_user, pk=b1.pk) == b1
    for pk in (b1.pk, 10**9, "x"):
        with pytest.raises(Http404):
            selectors.prediction_get(user=user, pk=pk)


def test_prediction_list_is_own_only_even_for_staff(user, staff_user, alice_and_bob):
    assert [p.original_name for p in selectors.prediction_list(user=user)] == ["a2.png", "a1.png"]
    assert list(selectors.prediction_list(user=staff_user)) == []


def test_predictions_by_ids_keeps_order_and_drops_others(user, alice_and_bob):
    a1, a2, b1 = alice_and_bob
    found = selectors.predictions_by_ids(user=user, ids=[a2.pk, b1.pk, a1.pk])
    assert found == [a2, a1]
