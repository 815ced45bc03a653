"""After a correction the summary is recounted (issue 20): AF must be recounted by the rule the
analysis used, the P-wave veto that reads the analysed lead, not by the RR rule alone."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features import episodes
from recordings import review_services
from tests.ml.test_af_atrial import FS, mixed_rhythm

from .review_data import done_recording

pytestmark = pytest.mark.django_db


def af_spans(summary: dict) -> list[tuple[float, float]]:
    return [(e["start_s"], e["end_s"]) for e in summary["episodes"] if e["kind"] == "AF"]


def test_a_correction_recounts_af_with_the_lead_so_irregular_sinus_rhythm_stays_not_af(
    settings, tmp_path, users
):
    settings.MEDIA_ROOT = tmp_path / "media"
    signal, peaks, (start, end) = mixed_rhythm(0)
    labels = np.full(peaks.size, "N")
    recording = done_recording(users["alice"], fs=FS, signal=signal, peaks=peaks, labels=labels)
    # What the analysis would have stored (it passes the lead), and what the RR rule alone says.
    analysed = episodes.detect_episodes(peaks, labels, FS, signal=signal.astype(np.float32))
    rr_only = [e for e in episodes.detect_episodes(peaks, labels, FS) if e.kind == "AF"]
    assert any(e.end_s > end + 60 for e in rr_only)  # the fault a recount without the lead has
    recording.summary["episodes"] = [e.as_dict() for e in analysed]
    recording.save(update_fields=["summary"])

    review_services.beat_correct(
        user=users["alice"], recording=recording, beat_indices=[5], label="A"
    )
    recording.refresh_from_db()
    (found,) = af_spans(recording.summary)
    assert abs(found[0] - start) < 15 and end - 15 < found[1] < end + 60
    assert af_spans(recording.review["model_summary"]) == [
        (e.start_s, e.end_s) for e in analysed if e.kind == "AF"
    ]
