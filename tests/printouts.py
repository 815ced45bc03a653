"""Printed multi-lead ECGs drawn by the tests (issue 19): twelve synthetic leads laid out by the
benchmark's independent ``multi_lead_paper`` renderer."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks import printout_renderers as P
from tests.recordings.synth import beat_times, ecg

FS = 360.0
# Each lead a scaled (some inverted) copy of one synthetic lead with its own noise, as leads of
# one heart differ in size and sign.
LEAD_GAINS = (0.8, 1.0, 0.5, -0.7, 0.4, 0.7, -0.6, -0.9, 0.6, 1.2, 1.1, 0.9)


def twelve_leads(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Twelve 10-s leads named as printed ("I" ... "V6") and their beat times (s)."""
    times = beat_times(10.0)
    leads = {
        name: gain * ecg(FS, 10.0, times, seed=seed + k)
        for k, (name, gain) in enumerate(zip(P.TWELVE_LEADS, LEAD_GAINS, strict=True))
    }
    return leads, times


def printout(layout: str, seed: int = 0, **kwargs) -> Image.Image:
    """A printout of ``layout`` (``P.PRINT_LAYOUTS``) on pink paper at 8 px/mm."""
    leads, _ = twelve_leads(seed)
    return P.multi_lead_paper(leads, FS, layout, **kwargs).image
