"""The upload form (one or several images) and the history filter form."""

from __future__ import annotations

from dataclasses import replace

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from classifier.models import Prediction
from classifier.validators import CheckedImage, validate_image_file
from ecg.classes import SIX_CLASS
from ecg.imaging.digitise import GIVEN_TRACE_HEIGHT_MV

IMAGE_TYPE_FORM_CHOICES = [
    ("auto", "Detect automatically"),
    (Prediction.ImageType.BEAT_IMAGE, "Beat image (ECG trace of one beat)"),
    (Prediction.ImageType.SPECTROGRAM, "Spectral image (time-frequency picture of one beat)"),
]

patient_reference_validator = RegexValidator(
    r"^[\w .\-/#]*$",
    "Use letters, digits, spaces and . - _ / # only: a pseudonymous code, not a name.",
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """A file field that takes several images and checks each by content.

    Every bad file is reported by name; if any is bad the whole form is rejected, so nothing
    is stored for it (or for the others, which the user re-sends after fixing the list).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/bmp"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list[CheckedImage]:
        files = [f for f in data if f] if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            raise ValidationError(self.error_messages["required"], code="required")
        errors: list[ValidationError] = []
        checked: list[CheckedImage] = []
        held_pixels = 0
        for uploaded in files:
            try:
                super().clean(uploaded, initial)
                image = validate_image_file(uploaded)
            except ValidationError as exc:
                if getattr(exc, "code", None) == "empty":
                    errors.append(ValidationError(f"“{uploaded.name}” is empty.", code="empty"))
                else:
                    errors.append(exc)
                continue
            # The service classifies the decoded images. Keep at most one size limit's worth of
            # pixels in memory, as a single upload would (50 files of 25 MP each would be
            # 5 GB); the service decodes the rest again.
            pixels = image.image.width * image.image.height
            if held_pixels + pixels > settings.UPLOAD_MAX_PIXELS:
                image = replace(image, image=None)
            else:
                held_pixels += pixels
            checked.append(image)
        if errors:
            raise ValidationError(errors)
        return checked


TRACE_HEIGHT_HELP = (
    "Only for a plot without ECG paper or readable axis labels: the drawn trace's height, from "
    "its lowest to its highest point, in mV, if you know it (one value for every image of "
    "this upload). The beat is then read at that "
    "scale; without it the answer is averaged over five typical beat heights. A scale read "
    "from the image wins; the app's own images ignore it."
)


class UploadForm(forms.Form):
    images = MultipleImageField(
        label="ECG images",
        help_text="PNG, JPEG or BMP; one image per beat. You can select several files.",
    )
    image_type = forms.ChoiceField(
        label="Image type",
        choices=IMAGE_TYPE_FORM_CHOICES,
        initial="auto",
        widget=forms.RadioSelect,
        help_text=(
            "Images drawn by this app are classified directly; any other picture of one beat "
            "(a plot, a screenshot, a photo of ECG paper) is digitised first. “Detect "
            "automatically” treats an image of ours that is mostly flat background as a beat "
            "image, a dense one as a spectral image."
        ),
    )
    trace_height_mv = forms.FloatField(
        label="Trace height in mV (optional)",
        required=False,
        min_value=GIVEN_TRACE_HEIGHT_MV[0],
        max_value=GIVEN_TRACE_HEIGHT_MV[1],
        help_text=TRACE_HEIGHT_HELP,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    patient_reference = forms.CharField(
        label="Patient reference (optional)",
        max_length=64,
        required=False,
        validators=[patient_reference_validator],
        help_text="A pseudonymous code only. Do not enter names or ID numbers.",
    )
    note = forms.CharField(
        label="Note (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Classify"))


class PredictionFilterForm(forms.Form):
    """History filters, sent as GET parameters (so a filtered list can be bookmarked/exported)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Patient reference or file name.",
    )
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Images and recordings"), ("image", "Images"), ("recording", "Recordings")],
    )
    predicted_class = forms.ChoiceField(
        label="Class",
        required=False,
        choices=[("", "Any class")] + [(c.code, f"{c.name} ({c.code})") for c in SIX_CLASS],
    )
    image_type = forms.ChoiceField(
        label="Image type",
        required=False,
        choices=[("", "Any type"), *Prediction.ImageType.choices],
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} form-{css.split('-')[1]}-sm")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise ValidationError("“From” must not be after “To”.")
        return cleaned

    def filters(self) -> dict:
        """The valid filters (invalid ones are dropped so the list still shows)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
