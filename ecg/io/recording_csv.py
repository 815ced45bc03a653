"""Reading an uploaded CSV recording a block of rows at a time (``parse_csv``).

Long on purpose: one format's reader; its column, unit and time-axis rules are read together.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg.io.recording_base import ParsedRecording, RecordingFormatError, unit_factor

# A time column's header: "time", "time_s", "t_ms", "Time (s)", "timestamp", "Elapsed time",
# "sec", "ms"... (a letter may not follow: "type" or "samples" are no time). The unit comes
# from the name (TIME_UNITS, seconds if it names none); a sample counter ("sample", "index")
# is a time axis whose rate the form gives.
TIME_HEADER = re.compile(
    r"^\s*(elapsed[\s_-]*)?(time(stamp)?|t|secs?|seconds?|s|ms|msec|millis\w*|us|µs)(?![a-z])",
    re.I,
)
SAMPLE_COUNTER = re.compile(r"^\s*(samples?|sample[\s_]*(no|nr|number|#)|index|idx|n|#)\s*$", re.I)
TIME_UNITS = (  # (pattern in the header, seconds per unit), the first match wins
    (re.compile(r"(?<![a-z])(ms|msec|millis\w*)(?![a-z])", re.I), 1e-3),
    (re.compile(r"(?<![a-z])(us|µs|micros\w*)(?![a-z])", re.I), 1e-6),
    (re.compile(r"(?<![a-z])(min|mins|minutes?)(?![a-z])", re.I), 60.0),
)
MISSING_CELLS = ("", "nan", "NaN", "NA", "null")
# pandas holds every cell of a block as a Python string, about 100 bytes each: 2^16 cells a
# block keep that under 10 MB whatever the file's length (the whole text at once took 9 to 22
# times the file's size: benchmarks/results/recording_parse_memory.json).
CSV_BLOCK_CELLS = 1 << 16
CSV_MAX_COLUMNS = 256  # more is no ECG export, and pandas' cost per column would dominate
TIME_SNIFF_ROWS = 1000  # rows whose first column tells whether a headerless column is time
TIME_STEPS_KEPT = 1 << 16  # distinct time steps followed exactly (a few MB) before a re-read
TEXT_WINDOW = 1 << 16  # bytes decoded at a time to check UTF-8 and find the stripped text
UTF8_BOM = b"\xef\xbb\xbf"


def parse_csv(name: str, content: bytes, *, fs: float | None, units: str = "mV") -> ParsedRecording:
    """One column of samples, or time then one or more value columns, optional header row.

    Read a block of rows at a time (``CSV_BLOCK_CELLS``) into the float32 result, with the
    rules and messages of reading the whole text at once: the file's text is
    ``content.decode("utf-8-sig").strip()`` and a newline, its first line decides the
    delimiter and the header, every problem is reported as if the whole file had been read
    first (a malformed line anywhere wins over a bad cell, a bad cell over the time column).
    """
    start, stop = _text_bounds(name, content)
    if start == stop:
        raise RecordingFormatError(f"{name}: the file is empty")
    first = _first_line(content, start, stop)
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    cells = [c.strip().strip('"') for c in first.split(delimiter)]
    _check_columns(name, len(cells))  # before pandas builds a frame as wide
    source = _CsvSource(name, content, start, stop, delimiter,
                        has_header=any(not _is_number_or_missing(c) for c in cells))  # fmt: skip
    try:
        factor, unit_error = unit_factor(units, name), None
    except RecordingFormatError as exc:  # refused below, after the file's own problems
        factor, unit_error = 1.0, exc
    table = _read_csv_table(source, factor)
    if table.rows == 0:
        raise RecordingFormatError(f"{name}: no data rows")
    if table.first_bad:
        column = min(table.first_bad)
        row, cell = table.first_bad[column]
        raise RecordingFormatError(
            f"{name}: line {row + 1 + source.has_header}, column {column + 1}: "
            f"{cell!r} is not a number"
        )
    headers = table.headers
    file_fs, notes = None, []
    if table.time is not None:
        header = headers[0] if headers else ""
        step = table.time.median_step(name)
        if step is None:  # too many distinct steps to follow block by block: read it again
            file_fs = _fs_from_time(name, _csv_first_column(source, table.rows), header)
        else:
            file_fs = _fs_from_step(*step, header)
        headers = headers[1:]
        notes.append(time_column_note(header, file_fs))
    if table.signals.shape[0] == 0:
        raise RecordingFormatError(f"{name}: no signal column besides the time column")
    if file_fs is None:
        if not fs:
            why = "its first column counts samples" if table.time else "no time column"
            raise RecordingFormatError(
                f"{name}: the sampling rate cannot be read from this file ({why}); "
                "enter it in the form"
            )
        file_fs = float(fs)
    elif fs and abs(float(fs) - file_fs) > 0.01 * file_fs:
        raise RecordingFormatError(
            f"{name}: the sampling rate entered ({float(fs):g} Hz) disagrees with the time column "
            f"({file_fs:g} Hz)"
        )
    lead_names = headers or [f"lead {i + 1}" for i in range(table.signals.shape[0])]
    lead_names = [h.strip() or f"lead {i + 1}" for i, h in enumerate(lead_names)]
    refuse_monotonic_leads(name, table.signals, lead_names)
    if unit_error is not None:
        raise unit_error
    return ParsedRecording(
        name=Path(name).stem,
        format="csv",
        fs=file_fs,
        lead_names=lead_names,
        signals=table.signals,
        lead_index=0,
        source_files=[name],
        notes=notes,
    )


def _check_columns(name: str, count: int) -> None:
    if count > CSV_MAX_COLUMNS:
        raise RecordingFormatError(
            f"{name}: {count} columns; at most {CSV_MAX_COLUMNS} are accepted (a time column and "
            "the leads)"
        )


def _text_bounds(name: str, content: bytes) -> tuple[int, int]:
    """Where ``content.decode("utf-8-sig").strip()`` lies in ``content`` (byte offsets), found
    without decoding the whole file at once; refuses a file that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    try:
        for offset in range(0, len(content), TEXT_WINDOW):
            decoder.decode(view[offset : offset + TEXT_WINDOW])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(f"{name}: not a text file (CSV must be UTF-8)") from exc
    start = len(UTF8_BOM) if content.startswith(UTF8_BOM) else 0
    end = len(content)
    # str.strip's whitespace includes non-ASCII characters (U+00A0, U+2028, ...): decode each
    # window at character boundaries (UTF-8 continuation bytes are 0b10xxxxxx) and ask str.
    while start < end:
        cut = min(start + TEXT_WINDOW, end)
        while cut < end and content[cut] & 0xC0 == 0x80:
            cut -= 1
        text = content[start:cut].decode("utf-8")
        kept = text.lstrip()
        start += len(text[: len(text) - len(kept)].encode("utf-8"))
        if kept:
            break
    while end > start:
        cut = max(end - TEXT_WINDOW, start)
        while cut > start and content[cut] & 0xC0 == 0x80:
            cut += 1
        text = content[cut:end].decode("utf-8")
        kept = text.rstrip()
        end = cut + len(kept.encode("utf-8"))
        if kept:
            break
    return start, end


def _first_line(content: bytes, start: int, stop: int) -> str:
    """The text's first line as ``str.splitlines`` cuts it (the text starts with no space)."""
    ends = [content.find(b"\n", start, stop), content.find(b"\r", start, stop)]
    end = min((i for i in ends if i >= 0), default=stop)
    return content[start:end].decode("utf-8").splitlines()[0]


class _TextRegion(io.RawIOBase):
    """``content[start:stop]`` and a final newline, read in place: no copy of the upload."""

    def __init__(self, content: bytes, start: int, stop: int) -> None:
        super().__init__()
        self._view = memoryview(content)[start:stop]
        self._position = 0
        self._newline_sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = len(self._view) - self._position
        if left > 0:
            count = min(left, len(buffer))
            buffer[:count] = self._view[self._position : self._position + count]
            self._position += count
            return count
        if self._newline_sent or not len(buffer):
            return 0
        buffer[:1] = b"\n"
        self._newline_sent = True
        return 1


@dataclass(frozen=True)
class _CsvSource:
    name: str
    content: bytes
    start: int
    stop: int
    delimiter: str
    has_header: bool

    def blocks(self):
        """pandas' frames of text cells, the first at least TIME_SNIFF_ROWS rows long (when the
        file has them), then CSV_BLOCK_CELLS cells at a time."""
        import pandas as pd

        try:
            reader = pd.read_csv(
                io.BufferedReader(_TextRegion(self.content, self.start, self.stop)),
                sep=self.delimiter,
                header=0 if self.has_header else None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8",
                chunksize=1,
            )
        except Exception as exc:  # pandas' parser errors name the line
            raise self._malformed(exc) from exc
        with reader:
            # One row first: its width sizes the blocks (the first line may not show it all).
            head = self._read(reader, 1)
            if head is None:
                return
            _check_columns(self.name, head.shape[1])
            rows = max(1, CSV_BLOCK_CELLS // max(head.shape[1], 1))
            more = self._read(reader, max(rows, TIME_SNIFF_ROWS) - 1)
            yield head if more is None else pd.concat([head, more])
            while (block := self._read(reader, rows)) is not None:
                yield block

    def _read(self, reader, rows: int):
        """The next ``rows`` rows, None at the end of the file."""
        try:
            return reader.get_chunk(rows)
        except StopIteration:
            return None
        except Exception as exc:
            raise self._malformed(exc) from exc

    def _malformed(self, exc: Exception) -> RecordingFormatError:
        return RecordingFormatError(f"{self.name}: malformed CSV ({exc})")

    def line_count(self) -> int:
        """Lines of the text as pandas ends them (\\n, \\r\\n, \\r): never fewer than its rows."""
        content, start, stop = self.content, self.start, self.stop
        return (content.count(b"\n", start, stop) + content.count(b"\r", start, stop)
                - content.count(b"\r\n", start, stop) + 1)  # fmt: skip


@dataclass
class _CsvTable:
    headers: list[str]
    signals: np.ndarray  # (leads, rows) float32, mV, the time column left out
    rows: int
    time: _TimeSteps | None
    first_bad: dict[int, tuple[int, str]]  # column -> (row, cell) of its first non-number


def _read_csv_table(source: _CsvSource, factor: float) -> _CsvTable:
    """Every block converted to numbers and written into one float32 array, sized once from
    the line count; the time column, if any, is followed by a ``_TimeSteps``."""
    first_bad: dict[int, tuple[int, str]] = {}
    headers: list[str] = []
    signals = np.empty((0, 0), dtype=np.float32)
    time: _TimeSteps | None = None
    rows = 0
    for number, block in enumerate(source.blocks()):
        values = _cell_numbers(block, first_bad, rows)
        if number == 0:
            headers = [str(c) for c in block.columns] if source.has_header else []
            time = _TimeSteps() if _time_column(headers, values) else None
            capacity = source.line_count() - source.has_header
            signals = np.empty((values.shape[1] - (time is not None), capacity), np.float32)
        if time is not None:
            time.add(values[:, 0])
            values = values[:, 1:]
        if rows + len(values) > signals.shape[1]:  # more rows than lines: not expected
            more = np.empty((len(signals), max(signals.shape[1], len(values))), np.float32)
            signals = np.concatenate([signals[:, :rows], more], axis=1)
        signals[:, rows : rows + len(values)] = values.T * factor
        rows += len(values)
    if rows < signals.shape[1]:  # quoted cells holding line breaks
        signals = np.ascontiguousarray(signals[:, :rows])
    return _CsvTable(headers, signals, rows, time, first_bad)


def _cell_numbers(block, first_bad: dict[int, tuple[int, str]], first_row: int) -> np.ndarray:
    """A block's text cells as float64 (NaN where missing or not a number); the first
    non-number of each column is noted in ``first_bad``."""
    import pandas as pd

    values = np.empty(block.shape, dtype=np.float64)
    for col_index in range(block.shape[1]):
        column = block.iloc[:, col_index].fillna("").str.strip().str.strip('"')
        missing = column.isin(list(MISSING_CELLS))
        numbers = pd.to_numeric(column.where(~missing), errors="coerce")
        bad = numbers.isna() & ~missing
        if bad.any() and col_index not in first_bad:
            row = int(np.flatnonzero(bad.to_numpy())[0])
            first_bad[col_index] = (first_row + row, column.iloc[row])
        values[:, col_index] = numbers.to_numpy(dtype=np.float64)
    return values


def _csv_first_column(source: _CsvSource, rows: int) -> np.ndarray:
    """The first column of every row as float64, read again."""
    column = np.empty(rows, dtype=np.float64)
    at = 0
    for block in source.blocks():
        column[at : at + len(block)] = _cell_numbers(block.iloc[:, :1], {}, at)[:, 0]
        at += len(block)
    return column


def _is_number_or_missing(cell: str) -> bool:
    if cell in MISSING_CELLS:
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _time_column(headers: list[str], values: np.ndarray) -> bool:
    if values.shape[1] < 2:
        return False
    if headers and (TIME_HEADER.match(headers[0]) or SAMPLE_COUNTER.match(headers[0])):
        return True
    # Whatever its header says, a first column that only increases is a time axis, never a
    # lead: an ECG goes down after every R wave (its steps are checked as time's are).
    steps = np.diff(values[: min(len(values), TIME_SNIFF_ROWS), 0])
    return bool(len(steps) and np.all(np.isfinite(steps)) and np.all(steps > 0))


class _TimeSteps:
    """The checks of ``_fs_from_time`` block by block, without keeping the time column (8 bytes
    a row, twice a float32 lead): empty cells, the first step that does not increase, and
    each distinct step with its count and first row, from which the median step and the first
    irregular step come out exactly as from the whole column. Even time columns have few
    distinct steps (their text has few digits); past TIME_STEPS_KEPT the column is read again.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.first: float | None = None
        self.last: float | None = None
        self.has_empty = False
        self.first_not_increasing: int | None = None  # step index (row - 2 of the message)
        self.values: np.ndarray | None = np.empty(0)  # None once there are too many
        self.counts = np.empty(0, dtype=np.int64)
        self.firsts = np.empty(0, dtype=np.int64)

    def add(self, time: np.ndarray) -> None:
        first_step = max(self.rows - 1, 0)  # index of the block's first step
        previous = [] if self.last is None else [self.last]
        self.rows += len(time)
        if len(time):
            self.first = float(time[0]) if self.first is None else self.first
            self.last = float(time[-1])
        self.has_empty = self.has_empty or not np.all(np.isfinite(time))
        if self.has_empty or self.first_not_increasing is not None:
            return  # refused whatever follows
        steps = np.diff(np.concatenate([previous, time]))
        down = np.flatnonzero(steps <= 0)
        if down.size:
            self.first_not_increasing = first_step + int(down[0])
        elif self.values is not None:
            self._count(steps, first_step)

    def _count(self, steps: np.ndarray, first_step: int) -> None:
        values, firsts, counts = np.unique(steps, return_index=True, return_counts=True)
        merged, where = np.unique(np.concatenate([self.values, values]), return_inverse=True)
        if len(merged) > TIME_STEPS_KEPT:
            self.values = None
            return
        self.counts = np.bincount(where, np.concatenate([self.counts, counts]),
                                  minlength=len(merged)).astype(np.int64)  # fmt: skip
        self.firsts, previous = np.full(len(merged), np.iinfo(np.int64).max), self.firsts
        np.minimum.at(self.firsts, where, np.concatenate([previous, firsts + first_step]))
        self.values = merged

    def median_step(self, name: str) -> tuple[float, float] | None:
        """The step and its relative error as ``_fs_from_time`` finds them (``np.median`` of
        the steps, or the mean step of a column rounded to few decimals); None when the steps
        were too many to follow."""
        if self.has_empty:
            raise _time_error(name, "has empty cells")
        if self.first_not_increasing is not None or self.rows < 2:
            row = 1 if self.first_not_increasing is None else self.first_not_increasing + 2
            raise _time_error(name, f"does not increase (row {row})")
        if self.values is None:
            return None
        ends = np.cumsum(self.counts)  # steps up to and including each distinct value
        middle = int(ends[-1]) // 2
        upper = self.values[np.searchsorted(ends, middle, side="right")]
        if ends[-1] % 2:
            step = float(upper)
        else:  # np.median: the mean of the two middle steps
            lower = self.values[np.searchsorted(ends, middle - 1, side="right")]
            step = float(np.mean([lower, upper]))
        even = _rounded_even_step(self.values, self.last - self.first, self.rows - 1)
        if even is not None:
            return even
        off = self.firsts[np.abs(self.values - step) > 0.01 * step]
        if off.size:
            raise _irregular_time(name, int(off.min()))
        return step, 0.0


def _time_error(name: str, problem: str) -> RecordingFormatError:
    return RecordingFormatError(f"{name}: the time column {problem}")


def _irregular_time(name: str, step_index: int) -> RecordingFormatError:
    return _time_error(name, f"is not evenly sampled (irregular step at data row {step_index + 2})")


def _fs_from_time(name: str, time: np.ndarray, header: str) -> float:
    if not np.all(np.isfinite(time)):
        raise _time_error(name, "has empty cells")
    steps = np.diff(time)
    if len(steps) == 0 or np.any(steps <= 0):
        row = int(np.flatnonzero(steps <= 0)[0]) + 2 if len(steps) else 1
        raise _time_error(name, f"does not increase (row {row})")
    even = _rounded_even_step(np.unique(steps), float(time[-1] - time[0]), len(steps))
    if even is not None:
        return _fs_from_step(*even, header)
    step = float(np.median(steps))
    off = np.flatnonzero(np.abs(steps - step) > 0.01 * step)
    if off.size:
        raise _irregular_time(name, int(off[0]))
    return _fs_from_step(step, 0.0, header)


def _rounded_even_step(steps: np.ndarray, span: float, count: int) -> tuple[float, float] | None:
    """The mean step and its relative error when ``steps`` (the distinct ones of ``count``
    steps over ``span``) are those of even sampling printed with at most 6 decimals, else None
    (then the median step is the step, and every step must be within 1 % of it).

    Time written to the millisecond at 360 Hz steps 2 or 3 ms, never the 2.78 ms of the
    rate, and its median step gives 333 Hz: each stamp is off by up to half its last digit, so
    each step by up to one digit (``quantum``: the coarsest power of ten every step is a
    multiple of), and only the mean step over the whole column is close to the true one.
    """
    mean = span / max(count, 1)
    for decimals in range(7):
        quantum = 10.0**-decimals
        if quantum < mean and np.all(np.abs(steps / quantum - np.round(steps / quantum)) <= 1e-3):
            break
    else:
        return None
    if np.all(np.abs(steps - mean) <= 1.001 * quantum + 0.01 * mean):
        return mean, quantum / span  # the span's two ends are off by half a digit each
    return None


def _fs_from_step(step: float, relative_error: float, header: str) -> float | None:
    """The rate a time step gives, in the unit the header names; None for a sample counter.
    A rate within ``relative_error`` of a whole number of Hz is that number (the step of a
    rounded time column is known only that well)."""
    if SAMPLE_COUNTER.match(header):
        return None
    seconds = next((unit for pattern, unit in TIME_UNITS if pattern.search(header)), 1.0)
    fs = 1.0 / (step * seconds)
    if relative_error and abs(fs - round(fs)) <= fs * relative_error:
        return float(round(fs))
    return round(fs, 6)


def time_column_note(header: str, fs: float | None) -> str:
    """What the page says about the column read as time (the analysed lead it names itself)."""
    shown = f"column {header.strip()!r}" if header.strip() else "the first column"
    if fs is None:
        return f"{shown} counts samples: the rate entered in the form is used"
    return f"{shown} read as time: {fs:g} Hz"


def refuse_monotonic_leads(name: str, signals: np.ndarray, lead_names: list[str]) -> None:
    """An ECG lead goes down after every R wave: a column that never decreases is a time axis
    (the first column is one, ``_time_column``), never analysed as an ECG."""
    for index, lead in enumerate(signals):
        if len(lead) < 3 or not _never_decreases(lead):
            continue
        if len(signals) == 1:
            raise RecordingFormatError(
                f"{name}: the only column ({lead_names[index]!r}) only increases: it is a time "
                "axis, not an ECG; add the ECG column after it"
            )
        raise RecordingFormatError(
            f"{name}: column {lead_names[index]!r} only increases: it is a time axis, not an ECG; "
            "a time column must come first"
        )


def _never_decreases(lead: np.ndarray) -> bool:
    """No step down (missing samples skipped) and not flat, a block at a time (an ECG lead
    fails in its first block)."""
    for lo in range(0, len(lead), CSV_BLOCK_CELLS):
        block = lead[lo : lo + CSV_BLOCK_CELLS + 1]
        if np.any(np.diff(block[np.isfinite(block)]) < 0):
            return False
    return bool(np.any(np.isfinite(lead)) and np.nanmax(lead) > np.nanmin(lead))
