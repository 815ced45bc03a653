"""The framework-free PDF builder: a valid PDF whose text holds what a clinician must see."""

import io
from datetime import UTC, datetime

import numpy as np
from pypdf import PdfReader

from ecg.models.explain import overlay_png, png_bytes
from reports.pdf import DECISION_SUPPORT_NOTICE, ReportData, build_pdf


def report(**overrides) -> ReportData:
    image = np.zeros((64, 64), dtype=np.uint8)
    image[30:34, :] = 255
    heat = np.zeros((64, 64), dtype=np.float32)
    heat[20:40, 25:35] = 1.0
    data = dict(
        title="ECG beat classification report",
        patient_reference="PAT-<7> & co",
        created_at=datetime(2026, 11, 26, 5, 0, tzinfo=UTC),
        label="V",
        label_name="Premature Ventricular Contraction",
        confidence=0.934,
        model_name="beat_cnn",
        model_version="3",
        model_accuracy=0.912,
        accuracy_basis="patient-wise test set (DS2)",
        probabilities=[("Premature Ventricular Contraction (V)", 0.934), ("Normal (N)", 0.066)],
        image_png=png_bytes(image),
        heatmap_png=overlay_png(image, heat),
        heatmap_note="Warm colours mark what drove the decision.",
    )
    data.update(overrides)
    return ReportData(**data)


def text_of(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, " ".join(page.extract_text() for page in reader.pages)


def test_pdf_holds_class_patient_reference_model_and_notice():
    pdf = build_pdf(report())
    assert pdf.startswith(b"%PDF-")
    reader, text = text_of(pdf)
    flat = " ".join(text.split())
    assert "PAT-<7> & co" in flat  # escaped for layout, shown verbatim
    assert "Premature Ventricular Contraction (V)" in flat
    assert "93.4%" in flat
    assert "beat_cnn v3" in flat
    assert "91.2% (patient-wise test set (DS2))" in flat
    assert "2026-11-26 05:00" in flat
    assert " ".join(DECISION_SUPPORT_NOTICE.split()[:6]) in flat
    assert len(reader.pages[0].images) == 2  # the input image and its heat map


def test_pdf_without_pictures_or_accuracy_and_with_a_long_table():
    rows = [(f"{i}", "N", "Normal") for i in range(120)]  # long enough for a second page
    pdf = build_pdf(
        report(
            image_png=None,
            heatmap_png=None,
            model_accuracy=None,
            table_title="Beats",
            table_header=("beat", "class", "name"),
            table_rows=rows,
            details=[("Duration", "30 min")],
        )
    )
    reader, text = text_of(pdf)
    assert len(reader.pages) >= 2
    assert "not measured" in text and "30 min" in text
    assert len(reader.pages[0].images) == 0


def test_recording_style_report_with_strip_and_no_single_class():
    strip = png_bytes(np.full((100, 800), 255, dtype=np.uint8))
    pdf = build_pdf(
        report(
            title="ECG recording report",
            label=None,
            confidence=None,
            strip_png=strip,
            strip_caption="First 10 s, lead MLII",
            table_title="Beats per class",
            table_header=("class", "beats"),
            table_rows=[("Normal (N)", "70"), ("Premature Ventricular Contraction (V)", "12")],
        )
    )
    reader, text = text_of(pdf)
    flat = " ".join(text.split())
    assert "Confidence" not in flat and "First 10 s, lead MLII" in flat
    assert "Premature Ventricular Contraction (V) 12" in flat
    assert len(reader.pages[0].images) == 3


def test_strip_png_draws_the_requested_piece():
    from PIL import Image

    from reports.figures import strip_png

    fs = 360.0
    t = np.arange(int(4 * fs)) / fs
    png = strip_png(
        np.sin(2 * np.pi * t),
        fs,
        start_s=10.0,
        beat_times_s=[10.5, 11.3],
        beat_labels=["N", "V"],
        colours={"V": "#D55E00"},
        highlight_s=11.3,
    )
    image = Image.open(io.BytesIO(png))
    # 4 s at 25 mm/s plus the 10 mm pulse margin = 110 mm at 200 dpi; the height is whole 5 mm
    # squares from -1.5 to +1.5 mV (30 mm) plus the 6 mm label band
    assert image.format == "PNG" and image.size == (round(110 / 25.4 * 200), round(36 / 25.4 * 200))
    rgb = np.asarray(image.convert("RGB")).astype(int)
    assert (np.abs(rgb - [0xD5, 0x5E, 0x00]).sum(axis=2) < 30).any()  # the V label
    # the 5 mm grid: a major line every 5 mm (39.4 px) across the paper
    major = (np.abs(rgb - [0xE0, 0x7A, 0x7A]).sum(axis=2) < 40).mean(axis=0)
    columns = np.flatnonzero(major > 0.5)  # (the shaded highlight hides a few)
    squares = np.diff(columns) / (5 / 25.4 * 200)
    assert columns.size >= 15 and np.all(np.abs(squares - np.round(squares)) < 0.05)
    # the calibration pulse: a black vertical 1 mV (10 mm = 79 px) tall in the margin
    dark = (rgb.sum(axis=2) < 150)[:, : round(10 / 25.4 * 200)]
    assert dark.sum(axis=0).max() >= 0.9 * 10 / 25.4 * 200


def test_long_labels_wrap_instead_of_running_into_their_values(tmp_path):
    from tests.api.pdf_layout import overlapping_text, render_png, text_boxes

    pdf = build_pdf(
        report(
            label_heading="Highlighted beat (#1234, 1805.55 s)",
            table_title="Beats per class",
            table_header=("Class", "Beats", "Share", "Mean confidence"),
            table_rows=[
                ("Left Bundle Branch Block (L)", "1200", "55.0%", "97.1%"),
                ("Premature Ventricular Contraction (V)", "12", "1.0%", "88.0%"),
            ],
        )
    )
    texts = " ".join(box.text for box in text_boxes(pdf))
    assert "Highlighted beat" in texts and "Left Bundle Branch Block (L)" in texts
    assert overlapping_text(pdf) == []
    pages = render_png(pdf, "report-long-labels", tmp_path)
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000


def test_text_boxes_see_text_drawn_over_text():
    """The overlap check itself: a label drawn past its column's edge is caught."""
    from reportlab.pdfgen import canvas

    from tests.api.pdf_layout import overlapping_text

    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer)
    sheet.setFont("Helvetica-Bold", 9)
    sheet.drawString(60, 700, "Highlighted beat (#12, 3.40 s)")
    sheet.setFont("Helvetica", 9)
    sheet.drawString(140, 700, "Premature Ventricular Contraction (V)")
    sheet.drawString(60, 680, "Normal (N)")
    sheet.save()
    assert overlapping_text(buffer.getvalue()) == [
        ("Highlighted beat (#12, 3.40 s)", "Premature Ventricular Contraction (V)")
    ]
