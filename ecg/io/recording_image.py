"""A rhythm strip drawn as an image (a PNG/JPEG/BMP of ECG paper, a plot) read as a recording.

The digitiser (``ecg.imaging.digitise``) follows the trace; ``ecg.imaging.ecg_check`` refuses
images with no ECG trace or a trace unlike an ECG. What comes back is a one-lead recording:

- time: from the ECG-paper grid (25 mm/s) when there is one, else the documented assumption
  that a strip without a grid spans 10 s (``STRIP_ASSUMED_S``);
- amplitude: mV from the grid (10 mm/mV), else the normalised trace scaled to the median beat
  amplitude of the training beats (``ASSUMED_BEAT_PTP_MV``) -- the notes say so, since the
  rhythm is then readable but amplitudes are not;
- one sample per image column, linearly resampled to ``FS_OUT`` (the analysis needs at least
  100 Hz; the image's own time resolution is what the notes report).

A single-beat image is not a recording: it is refused with a pointer to the image upload.

A printout with several rows of leads (``ecg.imaging.layout``): its rhythm strip, the bottom
row when that is one trace across the page, is cut out and read as above, and the notes say
which row; without one it is refused (four leads side by side in one row are never stitched
into one signal). An image of one row is read exactly as before.

A photo whose light is uneven (a shadow, darker corners) is evened out first
(``ecg.imaging.lighting``), and the notes say so; one that shows the desk or table around the
page is refused with a request to crop it. A page photographed at an angle is squared from its
grid first (``ecg.imaging.page_perspective``), and the notes say so.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ecg.imaging.digitise import ASSUMED_BEAT_PTP_MV, STRIP_ASSUMED_S, PixelReading, _rgb_array
from ecg.imaging.ecg_check import check_ecg_image
from ecg.imaging.layout import find_rows, row_image
from ecg.imaging.lighting import crop_refusal, even_lighting
from ecg.imaging.page_perspective import square_page

from .recording_base import ParsedRecording, RecordingFormatError

FS_OUT = 360.0
# What the recording's notes say of a strip's time scale (``Digitised.time_source``). The grid
# gives the amplitude with the time, so its note says both.
# The digitiser's notes on how a grid's scale was read that the user should see (``digitise``):
# its line spacing read again, or read along a strip photographed at an angle.
GRID_NOTES_SHOWN = (
    "grid read again",
    "grid lines all alike: taken as the 1 mm grid",
    "photo at an angle",
)
TIME_NOTES = {
    "x_labels": "time from the plot's x labels (seconds)",
    "x_labels_ms": (
        "time from the plot's x labels read as milliseconds (if they number samples instead, "
        "durations and rates are off by the sampling rate over 1,000)"
    ),
    "assumed": f"time: the strip is assumed to span {STRIP_ASSUMED_S:g} s (no usable x labels)",
    "grid": "scale from the ECG-paper grid (25 mm/s, 10 mm/mV)",
}
# A page photographed at an angle is squared from its grid before its rows are read
# (``ecg.imaging.page_perspective``); chosen by PRINTOUT_RULE
# (benchmarks/digitise_photo_printout.py).
SQUARE_PAGE = True
# A strip image larger than this is refused before decoding (a decompression bomb otherwise).
MAX_PIXELS = 25_000_000


def _decoded(name: str, content: bytes) -> Image.Image:
    unreadable = (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError)
    try:
        image = Image.open(io.BytesIO(content))  # reads the header only
    except unreadable as exc:
        raise RecordingFormatError(f"{name}: not a readable PNG, JPEG or BMP image") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise RecordingFormatError(
            f"{name}: the image has {width * height:,} pixels, more than {MAX_PIXELS:,}"
        )
    try:
        if image.mode in ("RGB", "L"):
            return image.convert("RGB")
        # Other modes as the digitiser reads them (``_rgb_array``: transparency on white, 16-bit
        # greys stretched), as the image upload does: Pillow's convert("RGB") clips 16-bit greys
        # to white (a 16-bit scan of a 25-s strip lost its grid and read as an assumed 10 s) and
        # shows transparent paper in its hidden colour, often black (the trace vanished).
        return Image.fromarray(_rgb_array(image).astype(np.uint8))
    except unreadable as exc:
        raise RecordingFormatError(f"{name}: not a readable PNG, JPEG or BMP image") from exc


def _rhythm_strip_of_printout(
    name: str, image: Image.Image
) -> tuple[Image.Image, list[str], PixelReading | None]:
    """``image`` itself when it holds at most one trace row (with what the row finder read of
    it, for the check not to read it again); else its rhythm strip cut out, with a note saying
    which row. ``RecordingFormatError`` for a printout without one."""
    layout = find_rows(image)
    n = len(layout.rows)
    if n < 2:
        return image, [], layout.reading
    index = layout.rhythm_row
    if index is None:
        raise RecordingFormatError(
            f"{name}: this looks like an ECG printout with {n} rows of leads without a rhythm "
            "strip (one trace across the page as its bottom row): several leads side by side "
            "are not one recording. Crop one row's lead (or the rhythm strip) and upload that "
            "image"
        )
    notes = [
        f"an ECG printout with {n} rows of leads: read row {index + 1} of {n}, a full-width "
        "rhythm strip; the lead is not named in the image"
    ]
    if abs(layout.angle) > 0.05:  # the row is cut from the page turned upright
        notes.append(f"the page turned back by {layout.angle:.1f} degrees")
    return row_image(image, layout, index), notes, None


def parse_image(
    name: str, content: bytes, *, trace_height_mv: float | None = None
) -> ParsedRecording:
    """A strip image as a one-lead recording in mV at ``FS_OUT`` (see the module docstring).

    ``trace_height_mv``: the drawn trace's height (lowest to highest point) in mV as the user
    knows it, used only when the image gives no scale (no ECG paper, no axis labels); a scale
    read from the image wins, and the notes say so."""
    lighting = even_lighting(_decoded(name, content))
    page, page_notes = square_page(lighting.image) if SQUARE_PAGE else (lighting.image, [])
    image, row_notes, reading = _rhythm_strip_of_printout(name, page)
    verdict = check_ecg_image(image, reading=reading)
    if not verdict.is_ecg or verdict.digitised is None:
        raise RecordingFormatError(f"{name}: {verdict.reason}")
    if why := crop_refusal(lighting):  # once a trace is found: noise is told it has none
        raise RecordingFormatError(f"{name}: {why}")
    d = verdict.digitised
    if d.kind != "strip" and row_notes:
        raise RecordingFormatError(
            f"{name}: the printout's full-width row was not read as a strip of beats; crop "
            "one lead's strip and upload that image"
        )
    if d.kind != "strip":
        raise RecordingFormatError(
            f"{name}: this image shows a single beat, not a strip; upload it on the image page "
            "to classify the beat"
        )
    x = np.asarray(d.signal, dtype=np.float64)
    n_out = int(round(len(x) * FS_OUT / d.fs))
    signal = np.interp(np.arange(n_out) / FS_OUT, np.arange(len(x)) / d.fs, x)
    notes = [*lighting.notes, *page_notes, *row_notes,
             f"read from an image: {len(x)} trace columns, {d.fs:.0f} samples/s resampled to "
             f"{FS_OUT:g} Hz"]  # fmt: skip
    if d.scale_source == "grid":  # its time source is the grid too
        notes.append(TIME_NOTES[d.time_source])
        # A grid read again at another line spacing (a blurred photo's 5 mm lines first taken
        # for 1 mm ones, or lines all alike), or at a scale changing along the strip: the user
        # should know the scale was a choice.
        notes.extend(n for n in d.notes if n.startswith(GRID_NOTES_SHOWN))
    elif d.scale_source == "axis_labels":
        # Already in mV (and fs from the x labels where read): scaling it again would be wrong.
        notes.append(f"amplitude from the plot's axis labels ({d.axis_step_mv:g} mV per tick)")
        notes.append(TIME_NOTES[d.time_source])
        notes.extend(d.x_label_notes)
    elif trace_height_mv is not None:  # the trace is normalised to peak-to-peak 1
        signal = signal * trace_height_mv
        notes.append(
            f"no ECG-paper grid: the strip is assumed to span {STRIP_ASSUMED_S:g} s; its "
            f"amplitude as given at upload (the trace {trace_height_mv:g} mV from its lowest to "
            "its highest point)"
        )
    else:
        signal = signal * ASSUMED_BEAT_PTP_MV
        notes.append(
            f"no ECG-paper grid: the strip is assumed to span {STRIP_ASSUMED_S:g} s and its "
            f"amplitude is unknown (drawn to {ASSUMED_BEAT_PTP_MV:g} mV peak to peak)"
        )
    if trace_height_mv is not None and d.scale_source in ("grid", "axis_labels"):
        notes.append("the trace height given at upload was not used: the image gives its scale")
    if abs(d.rotation_deg) > 0.05:
        notes.append(f"turned back by {d.rotation_deg:.1f} degrees")
    return ParsedRecording(
        name=Path(name).stem or "image",
        format="image",
        fs=FS_OUT,
        lead_names=["image"],
        signals=(signal - np.median(signal))[None].astype(np.float32),
        lead_index=0,
        source_files=[name],
        notes=notes,
    )
