"""Static accessibility checks on the rendered pages: alt text, labelled controls, landmarks."""

from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classifier import services
from pages.content import CLASS_PAGES
from tests.factories import beat_image_bytes

pytestmark = pytest.mark.django_db


class Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images_without_alt: list[dict] = []
        self.controls: list[dict] = []
        self.label_targets: set[str] = set()
        self.tags: list[str] = []
        self.lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "img" and not (a.get("alt") or "").strip():
            self.images_without_alt.append(a)
        if tag == "label" and a.get("for"):
            self.label_targets.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in (
            "hidden", "submit", "button",
        ):  # fmt: skip
            self.controls.append(a)

    def unlabelled(self) -> list[dict]:
        return [
            c
            for c in self.controls
            if c.get("id") not in self.label_targets
            and not c.get("aria-label")
            and not c.get("aria-labelledby")
        ]


def audit(client, url) -> Audit:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = Audit()
    parser.feed(response.content.decode())
    return parser


def test_every_page_has_alt_text_labels_and_landmarks(client, user, installed_tiny_models):
    prediction = services.prediction_create(
        owner=user, uploaded_file=SimpleUploadedFile("a.png", beat_image_bytes())
    )
    public = [
        reverse("pages:home"), reverse("pages:classes"), reverse("pages:about"),
        reverse("pages:contact"), reverse("login"), reverse("signup"),
        reverse("password_reset"),
        *(reverse("pages:class_info", args=[p.slug]) for p in CLASS_PAGES),
    ]  # fmt: skip
    private = [
        reverse("classifier:upload"), reverse("pages:history"),
        prediction.get_absolute_url(), reverse("classifier:delete", args=[prediction.pk]),
        reverse("classifier:batch") + f"?ids={prediction.pk}", reverse("password_change"),
    ]  # fmt: skip
    pages = [(url, audit(client, url)) for url in public]
    client.force_login(user)
    pages += [(url, audit(client, url)) for url in private]
    for url, page in pages:
        assert page.lang == "en", url
        assert not page.images_without_alt, (url, page.images_without_alt)
        assert not page.unlabelled(), (url, page.unlabelled())
        for landmark in ("nav", "main", "footer", "h1"):
            assert landmark in page.tags, (url, landmark)
