"""The recording upload form: the files, and what a file cannot say by itself."""

from __future__ import annotations

from django import forms
from django.conf import settings

from ecg.imaging.digitise import ASSUMED_BEAT_PTP_MV, GIVEN_TRACE_HEIGHT_MV
from ecg.io.recording_io import MAX_FS, MIN_FS, size_refusal
from ecg.io.records import PREFERRED_LEADS

from .services import UNITS, sentence


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class RecordingUploadForm(forms.Form):
    files = MultipleFileField(
        label="Recording files",
        help_text=(
            "WFDB: the .hea and .dat files (add the .atr to compare with reference "
            "annotations), or all of them in one .zip. Or one .csv (one column of samples, or "
            "time then value columns), one .edf file, or one image of a rhythm strip (.png, "
            ".jpg, .bmp: ECG paper or a plot, read by the digitiser; a photo cropped to the "
            "paper, sharp and square to the page)."
        ),
    )
    sampling_rate = forms.FloatField(
        required=False,
        min_value=MIN_FS,
        max_value=MAX_FS,
        label="Sampling rate (Hz)",
        help_text="Only for a CSV without a time column.",
    )
    units = forms.ChoiceField(
        choices=[(u, u) for u in UNITS],
        initial="mV",
        help_text="Units of CSV values (WFDB and EDF files carry their own).",
    )
    lead = forms.CharField(
        required=False,
        max_length=32,
        help_text=(
            "Lead to analyse when there are several (name or number); by default the first of "
            f"{', '.join(PREFERRED_LEADS)} the file holds. For an image or a CSV column without "
            "a name: the lead it shows (e.g. II)."
        ),
    )
    trace_height_mv = forms.FloatField(
        required=False,
        min_value=GIVEN_TRACE_HEIGHT_MV[0],
        max_value=GIVEN_TRACE_HEIGHT_MV[1],
        label="Trace height in mV (optional)",
        help_text=(
            "Only for a strip image without ECG paper or readable axis labels: the drawn "
            "trace's height, from its lowest to its highest point, in mV, if you know it. "
            f"Without it the strip is drawn to {ASSUMED_BEAT_PTP_MV:g} mV. A scale read from "
            "the image wins."
        ),
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    patient_reference = forms.CharField(
        required=False,
        max_length=64,
        help_text="Pseudonymous reference only -- never a name or an ID number.",
    )
    note = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        total = sum(f.size for f in files)
        if total > settings.RECORDING_MAX_BYTES:
            raise forms.ValidationError(sentence(size_refusal(total, settings.RECORDING_MAX_BYTES)))
        return files

    def service_arguments(self) -> dict:
        """The cleaned fields as ``services.recording_create`` takes them (pages and API)."""
        data = self.cleaned_data
        return {
            "files": data["files"],
            "sampling_rate": data.get("sampling_rate"),
            "units": data.get("units") or "mV",
            "lead": data.get("lead") or "",
            "trace_height_mv": data.get("trace_height_mv"),
            "patient_reference": data.get("patient_reference") or "",
            "note": data.get("note") or "",
        }


class RecordingSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status")])

    def __init__(self, *args, **kwargs):
        from .models import Recording

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any status"), *Recording.Status.choices]
