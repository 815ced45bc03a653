"""PDF report of one prediction or one recording, from plain data (no Django, no database).

Built with reportlab's platypus layout engine and its built-in Helvetica fonts, so nothing is
fetched and no font file is needed. The views and the API fill a ``ReportData`` from their
selectors and call ``build_pdf``; tests can do the same with invented data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

DECISION_SUPPORT_NOTICE = (
    "Decision-support tool for research and education, not a diagnosis. The classification "
    "must be confirmed by a qualified clinician reading the full ECG."
)


@dataclass
class ReportData:
    title: str
    patient_reference: str
    created_at: datetime
    model_name: str
    model_version: str
    label: str | None = None  # class code, e.g. "V" (a recording report may have none)
    label_name: str = ""  # e.g. "Premature Ventricular Contraction"
    confidence: float | None = None  # 0..1
    label_heading: str = "Class"  # e.g. "Highlighted beat" on a recording report
    model_accuracy: float | None = None  # measured on held-out data, 0..1
    accuracy_basis: str = ""  # how the accuracy was measured, e.g. "patient-wise test set (DS2)"
    probabilities: list[tuple[str, float]] = field(default_factory=list)  # (class label, p)
    details: list[tuple[str, str]] = field(default_factory=list)  # extra (field, value) rows
    strip_png: bytes | None = None  # recordings: a strip of the ECG, full width
    strip_caption: str = ""
    image_png: bytes | None = None
    image_caption: str = "Input image"
    heatmap_png: bytes | None = None
    heatmap_note: str = ""
    table_title: str = ""  # an extra table, e.g. a recording's beats per class
    table_header: tuple[str, ...] = ()
    table_rows: list[tuple[str, ...]] = field(default_factory=list)
    notice: str = DECISION_SUPPORT_NOTICE


def _text(value: object) -> str:
    """Escape text for reportlab's mini-markup (a patient reference may contain '<' or '&')."""
    return escape(str(value))


def _picture(png: bytes, width_mm: float) -> Image:
    picture = Image(io.BytesIO(png))
    ratio = picture.imageHeight / picture.imageWidth
    picture.drawWidth = width_mm * mm
    picture.drawHeight = width_mm * mm * ratio
    return picture


def _grid(rows: list[list[object]], widths: list[float], header: bool = False) -> Table:
    table = Table(rows, colWidths=[w * mm for w in widths], hAlign="LEFT")
    style = [
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
    ]
    if header:
        style += [("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold")]
    else:
        style += [("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]
    table.setStyle(TableStyle(style))
    return table


def build_pdf(data: ReportData) -> bytes:
    """The report as PDF bytes (one A4 page for a prediction, more for long beat tables)."""
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["Italic"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=data.title,
        author="ECG arrhythmia classifier",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    accuracy = (
        f"{data.model_accuracy:.1%}" + (f" ({data.accuracy_basis})" if data.accuracy_basis else "")
        if data.model_accuracy is not None
        else "not measured"
    )
    summary: list[list] = [
        ["Patient reference", Paragraph(_text(data.patient_reference or "-"), body)],
        ["Date", data.created_at.strftime("%Y-%m-%d %H:%M %Z").strip()],
    ]
    if data.label is not None:
        label = f"{data.label_name} ({data.label})" if data.label_name else data.label
        summary.append([data.label_heading, Paragraph(_text(label), body)])
    if data.confidence is not None:
        summary.append(["Confidence", f"{data.confidence:.1%}"])
    summary += [
        ["Model", Paragraph(_text(f"{data.model_name} v{data.model_version}"), body)],
        ["Model accuracy", Paragraph(_text(accuracy), body)],
    ] + [[name, Paragraph(_text(value), body)] for name, value in data.details]
    story: list = [
        Paragraph(_text(data.title), styles["Title"]),
        Paragraph(f"<b>{_text(data.notice)}</b>", body),
        Spacer(1, 4 * mm),
        _grid(summary, [40, 134]),
        Spacer(1, 5 * mm),
    ]
    if data.strip_png:
        story += [_picture(data.strip_png, 174), Paragraph(_text(data.strip_caption), small)]
        story.append(Spacer(1, 4 * mm))
    pictures, captions = [], []
    if data.image_png:
        pictures.append(_picture(data.image_png, 78))
        captions.append(Paragraph(_text(data.image_caption), small))
    if data.heatmap_png:
        pictures.append(_picture(data.heatmap_png, 78))
        captions.append(Paragraph("Grad-CAM heat map", small))
    if pictures:
        story += [Table([pictures, captions], hAlign="LEFT"), Spacer(1, 2 * mm)]
    if data.heatmap_png and data.heatmap_note:
        story += [Paragraph(_text(data.heatmap_note), small), Spacer(1, 4 * mm)]
    if data.probabilities:
        rows = [["Class", "Probability"]] + [[n, f"{p:.1%}"] for n, p in data.probabilities]
        story += [Paragraph("Probabilities", styles["Heading3"]), _grid(rows, [110, 30], True)]
    if data.table_rows:
        rows = [list(data.table_header)] + [list(r) for r in data.table_rows]
        width = 174 / max(len(data.table_header), 1)
        story += [
            Spacer(1, 4 * mm),
            Paragraph(_text(data.table_title), styles["Heading3"]),
            _grid(rows, [width] * len(data.table_header), True),
        ]
    doc.build(story)
    return buffer.getvalue()
