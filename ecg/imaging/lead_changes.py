"""Where one lead ends and the next begins along a row of a printed ECG (``ecg.imaging.layout``,
issue 19): separator marks across the trace, lead names beside it, and those breaks as lead
changes. Every function works on a working-size ink mask of one row; ``px_mm`` is its pixels
per millimetre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Pieces of ink narrower than this share of the width are labels, not trace (a 2.5-s lead of a
# 10-s page is a quarter; a lead name a few hundredths).
MIN_PIECE_SHARE = 0.04
# A lead name: a piece at least this tall (mm); its letters lie within NAME_SPREAD_MM.
NAME_MIN_MM = 1.5
NAME_SPREAD_MM = 10.0
# Breaks within this share of a row's length from either end are not lead changes (a
# calibration pulse before the trace, the first lead's name).
END_SHARE = 0.08
# Breaks closer than this (mm) mark one lead change.
BREAK_MERGE_MM = 8.0
# A gap between leads: at least this many working columns without ink inside the row.
MIN_GAP_COLUMNS = 2
# A separator mark: a stroke at most NEEDLE_MAX_PX + 1 columns wide, at least NEEDLE_MIN_MM
# tall, with the columns from there to NEEDLE_CLEAR_MM on both sides holding at most a third
# of it (flat trace), reaching NEEDLE_REACH_MM above and below the trace beside it. An R wave's
# down stroke follows its up stroke within about 1 mm at 25 mm/s.
NEEDLE_MAX_PX = 1
NEEDLE_MIN_MM = 2.5
NEEDLE_CLEAR_MM = 2.0
NEEDLE_REACH_MM = 1.0
# ``mark_extents`` looks this far (mm) either side of where the standard layouts change lead
# (the mark stands there within a line's width).
MARK_AT_MM = 0.5


def lead_changes(breaks: list[int], left: int, right: int, px_mm: float) -> list[int]:
    """Gaps, marks and names as lead changes: none near the row's ends (a calibration pulse,
    the first lead's name), and those within ``BREAK_MERGE_MM`` of each other as one."""
    end = END_SHARE * (right - left)
    inner = sorted(b for b in breaks if left + end < b < right - end)
    return [b for k, b in enumerate(inner) if k == 0 or b - inner[k - 1] > BREAK_MERGE_MM * px_mm]


def split_pieces(band: np.ndarray, px_mm: float) -> tuple[np.ndarray, list[int]]:
    """The band's trace (its ink without pieces narrower than ``MIN_PIECE_SHARE`` of the width:
    the stroke of an "I" or a "1" would pass for a separator mark) and the columns where lead
    names stand: pieces at least ``NAME_MIN_MM`` tall, clustered along the row (a name's
    letters are pieces a few millimetres apart)."""
    labels, n = ndimage.label(band, structure=np.ones((3, 3), bool))
    if n == 0:
        return band, []
    objects = ndimage.find_objects(labels)
    widths = np.array([o[1].stop - o[1].start for o in objects])
    heights = np.array([o[0].stop - o[0].start for o in objects])
    trace = widths >= MIN_PIECE_SHARE * band.shape[1]
    named = ~trace & (heights >= NAME_MIN_MM * px_mm)
    starts = np.sort(np.array([objects[i][1].start for i in np.flatnonzero(named)], dtype=int))
    names = [int(x) for k, x in enumerate(starts)
             if k == 0 or x - starts[k - 1] > NAME_SPREAD_MM * px_mm]  # fmt: skip
    return np.concatenate([[False], trace])[labels], names


@dataclass(frozen=True)
class _Strokes:
    """Per column of a row's band: the ink count, whether it is a thin stroke (at most two
    columns wide, tall enough to be a mark) and whether the trace is flat from there to
    ``clear`` columns before and after it; and the ink's top, bottom and centre rows."""

    counts: np.ndarray
    thin: np.ndarray
    flat_before: np.ndarray
    flat_after: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    centre: np.ndarray
    clear: int
    reach: float

    def across(self, idx: np.ndarray) -> np.ndarray:
        """Which columns ``idx`` reach ``reach`` above and below the trace's level beside them
        (the centre of the ink of the columns from two to ``clear`` away on either side)."""
        n = self.counts.size
        offsets = np.r_[-self.clear : -NEEDLE_MAX_PX, NEEDLE_MAX_PX + 1 : self.clear + 1]
        level = np.nanmedian(
            self.centre[np.clip(idx[:, None] + offsets[None, :], 0, n - 1)], axis=1
        )
        return (self.top[idx] <= level - self.reach) & (self.bottom[idx] >= level + self.reach)


def _strokes(band: np.ndarray, line: float, px_mm: float) -> _Strokes:
    counts = band.sum(axis=0).astype(np.float64)
    n = counts.size
    clear = max(NEEDLE_MAX_PX + 2, int(round(NEEDLE_CLEAR_MM * px_mm)))
    tall = max(3.0 * line, NEEDLE_MIN_MM * px_mm)
    padded = np.pad(counts, clear, constant_values=0.0)

    def shifted(d: int) -> np.ndarray:
        return padded[clear + d : clear + d + n]

    # The largest count between NEEDLE_MAX_PX + 1 and ``clear`` columns away, on each side.
    before, after = np.zeros(n), np.zeros(n)
    for d in range(NEEDLE_MAX_PX + 1, clear + 1):
        before = np.maximum(before, shifted(-d))
        after = np.maximum(after, shifted(d))
    narrow = np.minimum(shifted(-1), shifted(1)) <= counts / 3.0
    height = band.shape[0]
    top = np.argmax(band, axis=0)
    bottom = height - 1 - np.argmax(band[::-1], axis=0)
    return _Strokes(
        counts=counts,
        thin=(counts >= tall) & narrow,
        flat_before=before <= counts / 3.0,
        flat_after=after <= counts / 3.0,
        top=top,
        bottom=bottom,
        centre=np.where(counts > 0, 0.5 * (top + bottom), np.nan),
        clear=clear,
        reach=NEEDLE_REACH_MM * px_mm,
    )


def separator_marks(
    band: np.ndarray, left: int, right: int, line: float, px_mm: float
) -> list[int]:
    """Columns of thin vertical strokes across the trace between ``left`` and ``right``: at
    most two columns wide (the columns beside the pair hold a third of it or less), flat trace
    from there to ``NEEDLE_CLEAR_MM`` on both sides, and reaching ``NEEDLE_REACH_MM`` above
    and below the trace's level beside it. A QRS stroke has its partner stroke (down after up)
    within the clearance; a separator mark crosses the line. (Flat on one side only was tried
    on the development sets: Q-R strokes of real beats passed.) A mark beside a QRS is missed
    here; ``mark_extents`` looks for it again where the standard layouts change lead
    (``layout._rows_rechecked``)."""
    s = _strokes(band, line, px_mm)
    idx = np.flatnonzero(s.thin & s.flat_before & s.flat_after)
    idx = idx[(idx > left + s.clear) & (idx < right - s.clear)]
    if idx.size == 0:
        return []
    idx = idx[s.across(idx)]
    if idx.size == 0:
        return []
    first = np.concatenate([[True], np.diff(idx) > NEEDLE_MAX_PX + 1])
    return idx[first].tolist()


def mark_extents(
    band: np.ndarray, columns: list[int], line: float, px_mm: float
) -> dict[int, tuple[float, float]]:
    """For those of ``columns`` (the standard layouts' lead changes along a row) with a thin
    stroke within ``MARK_AT_MM`` of them and the trace flat on at least one side of it: how far
    it reaches above and below the trace's level on its flat side (mm; the stroke reaching
    farthest both ways). A mark beside a QRS, which ``separator_marks`` misses, is such a
    stroke; so are a QRS's own up and down strokes, which is why ``layout`` takes one only
    where it matches the marks the other rows of the page have there."""
    s = _strokes(band, line, px_mm)
    n = s.counts.size
    near = max(1, int(round(MARK_AT_MM * px_mm)))
    found = {}
    for c in columns:
        best = None
        for i in range(max(0, c - near), min(n, c + near + 1)):
            if not s.thin[i]:
                continue
            for flat, side in ((s.flat_before[i], -1), (s.flat_after[i], 1)):
                if not flat:
                    continue
                beside = s.centre[
                    np.clip(i + side * np.arange(NEEDLE_MAX_PX + 1, s.clear + 1), 0, n - 1)
                ]
                if np.isnan(beside).all():
                    continue
                level = float(np.nanmedian(beside))
                reach = ((level - s.top[i]) / px_mm, (s.bottom[i] - level) / px_mm)
                if best is None or min(reach) > min(best):
                    best = reach
        if best is not None and min(best) >= NEEDLE_REACH_MM:
            found[int(c)] = (float(best[0]), float(best[1]))
    return found
