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
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

DECISION_SUPPORT_NOTICE = (
    "Decision-support tool for research and education, not a diagnosis. The classification "
    "must be confirmed by a qualified clinician reading the full ECG."
)


WIDTH_MM = 174.0  # A4 less the margins


@dataclass
class ReportTable:
    """A titled table; every cell wraps inside its column, so no text runs into the next one."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str = ""  # a paragraph under the title
    widths_mm: tuple[float, ...] = ()  # default: the first column wider, the rest shared


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
    # recordings stored with more than two leads: the strip's window on each other lead, drawn
    # after everything else under ``lead_strips_title`` (a 12-lead ECG: eleven more rows)
    lead_strips: list[bytes] = field(default_factory=list)
    lead_strips_title: str = ""
    image_png: bytes | None = None
    image_caption: str = "Input image"
    heatmap_png: bytes | None = None
    heatmap_note: str = ""
    table_title: str = ""  # an extra table, e.g. a recording's beats per class
    table_header: tuple[str, ...] = ()
    table_rows: list[tuple[str, ...]] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)  # after ``table_rows``' table
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


CELL = ParagraphStyle("cell", fontName="Helvetica", fontSize=9, leading=11)
CELL_BOLD = ParagraphStyle("cell_bold", parent=CELL, fontName="Helvetica-Bold")
CELL_NUMBER = ParagraphStyle("cell_number", parent=CELL, alignment=TA_RIGHT)
CELL_NUMBER_BOLD = ParagraphStyle("cell_number_bold", parent=CELL_BOLD, alignment=TA_RIGHT)


def _cell(value: object, style: ParagraphStyle) -> object:
    # Plain strings are drawn on one line whatever the column width (a long label ran into the
    # value beside it); a Paragraph wraps within its cell. Flowables (Paragraphs) pass through.
    return value if hasattr(value, "wrap") else Paragraph(_text(value), style)


def _grid(rows: list[list[object]], widths: list[float], header: bool = False) -> Table:
    """A table of wrapping cells: bold header row (``header``) or bold first column, and the
    columns after the first right-aligned in a header table (counts, percentages)."""
    cells = []
    for r, row in enumerate(rows):
        out = []
        for c, value in enumerate(row):
            bold = (r == 0) if header else (c == 0)
            if header and c > 0:
                style = CELL_NUMBER_BOLD if bold else CELL_NUMBER
            else:
                style = CELL_BOLD if bold else CELL
            out.append(_cell(value, style))
        cells.append(out)
    table = Table(cells, colWidths=[w * mm for w in widths], hAlign="LEFT", repeatRows=header)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ]
        )
    )
    return table


def _table_widths(table: ReportTable) -> list[float]:
    n = max(len(table.header), 1)
    if table.widths_mm:
        return list(table.widths_mm)
    if n == 1:
        return [WIDTH_MM]
    first = min(70.0, WIDTH_MM * 0.4)  # class names such as "Left Bundle Branch Block (L)"
    return [first] + [(WIDTH_MM - first) / (n - 1)] * (n - 1)


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
    # plain strings: _grid wraps every cell in one style (a long value wraps, never overflows)
    summary: list[list] = [
        ["Patient reference", data.patient_reference or "-"],
        ["Date", data.created_at.strftime("%Y-%m-%d %H:%M %Z").strip()],
    ]
    if data.label is not None:
        label = f"{data.label_name} ({data.label})" if data.label_name else data.label
        summary.append([data.label_heading, label])
    if data.confidence is not None:
        summary.append(["Confidence", f"{data.confidence:.1%}"])
    summary += [
        ["Model", f"{data.model_name} v{data.model_version}"],
        ["Model accuracy", accuracy],
    ] + [[name, value] for name, value in data.details]
    story: list = [
        Paragraph(_text(data.title), styles["Title"]),
        Paragraph(f"<b>{_text(data.notice)}</b>", body),
        Spacer(1, 4 * mm),
        _grid(summary, [40, 134]),
        Spacer(1, 5 * mm),
    ]
    if data.strip_png:
        story += [_picture(data.strip_png, WIDTH_MM), Paragraph(_text(data.strip_caption), small)]
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
    tables = list(data.tables)
    if data.table_rows:
        tables.insert(0, ReportTable(data.table_title, data.table_header, data.table_rows))
    # a title (and its note) never ends a page without its table
    heading = ParagraphStyle("table_title", parent=styles["Heading3"], keepWithNext=1)
    note = ParagraphStyle("table_note", parent=body, keepWithNext=1, spaceAfter=2 * mm)
    for table in tables:
        story += [Spacer(1, 4 * mm), Paragraph(_text(table.title), heading)]
        if table.note:
            story.append(Paragraph(_text(table.note), note if table.header else body))
        if table.header:  # a table may be only its note (e.g. detection without classes)
            rows = [list(table.header)] + [list(r) for r in table.rows]
            story.append(_grid(rows, _table_widths(table), True))
    if data.lead_strips:
        story += [Spacer(1, 4 * mm), Paragraph(_text(data.lead_strips_title), heading)]
        story += [_picture(png, WIDTH_MM) for png in data.lead_strips]
    doc.build(story)
    return buffer.getvalue()
