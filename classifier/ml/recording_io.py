"""Reading an uploaded ECG recording: WFDB (several files or one ZIP), CSV or EDF.

Everything here works on bytes already in memory (the upload limit bounds them) and returns a
``ParsedRecording`` in millivolts, or raises ``RecordingFormatError`` with a message that names the
file and the problem. WFDB samples, CSV rows and EDF data records are converted a block at a
time into the float32 result, so parsing needs little more than that result. Nothing is written
anywhere except a private temporary folder that is removed before returning, because the WFDB
and EDF (header) readers want paths.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import math
import posixpath
import re
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .beats import beat_annotations
from .records import PREFERRED_LEAD

UNITS_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}
MIN_FS = 100.0  # below this the QRS is too smeared to detect and classify
MAX_FS = 10_000.0
MIN_DURATION_S = 10.0
MAX_GAP_S = 1.0  # missing-sample runs up to this long are bridged; longer ones are refused
WFDB_SAMPLE_BYTES = {"8": 1.0, "16": 2.0, "61": 2.0, "80": 1.0, "160": 2.0, "212": 1.5,
                     "24": 3.0, "32": 4.0}  # fmt: skip
WFDB_READ_FRAMES = 1 << 18  # frames per read of the samples (12 min at 360 Hz)


class RecordingFormatError(ValueError):
    """The upload is not a readable recording; the message names the file and the problem."""


# A 24-hour two-lead Holter recording at 360 Hz in WFDB format 212 (12 bits a sample) is
# 24 * 3600 * 360 * 2 * 1.5 = 93.3 MB, plus its header and annotations: 100 MB admits it.
# (ecgsite.settings.RECORDING_MAX_BYTES has the same default.)
DEFAULT_MAX_BYTES = 100_000_000


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES  # all uploaded files together
    max_duration_s: float = 24 * 3600.0
    max_zip_members: int = 20
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_ratio: float = 200.0  # a member expanding more than this is treated as a ZIP bomb


@dataclass
class ParsedRecording:
    """All leads of an uploaded recording in mV at ``fs``, the chosen lead, annotations if any."""

    name: str
    format: str  # "wfdb", "csv" or "edf"
    fs: float
    lead_names: list[str]
    signals: np.ndarray  # (n_leads, n_samples) float32, mV
    lead_index: int
    source_files: list[str]
    ann_samples: np.ndarray | None = None  # reference beat samples (beat symbols only)
    ann_symbols: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "bridged 3 gaps of missing samples"

    @property
    def lead(self) -> str:
        return self.lead_names[self.lead_index]

    @property
    def signal(self) -> np.ndarray:
        return self.signals[self.lead_index]

    @property
    def second_lead(self) -> np.ndarray | None:
        others = [i for i in range(len(self.lead_names)) if i != self.lead_index]
        return self.signals[others[0]] if others else None

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    @property
    def has_reference(self) -> bool:
        return self.ann_samples is not None and len(self.ann_samples) > 0


UploadedFiles = Sequence[tuple[str, bytes]]


def parse_upload(
    files: UploadedFiles,
    *,
    fs: float | None = None,
    lead: str | None = None,
    units: str = "mV",
    limits: Limits | None = None,
) -> ParsedRecording:
    """Parse uploaded ``(file name, content)`` pairs into one recording.

    ``fs`` is used only when the file cannot say it (CSV without a time column), ``units`` only
    for CSV, ``lead`` picks a lead by name when there are several (MLII otherwise, else the
    first).
    """
    if not files:
        raise RecordingFormatError("no file was uploaded")
    limits = limits or Limits()
    total = sum(len(content) for _, content in files)
    if total > limits.max_bytes:
        raise RecordingFormatError(size_refusal(total, limits.max_bytes))
    named = {_safe_basename(name): content for name, content in files}
    if len(named) != len(files):
        raise RecordingFormatError("two uploaded files have the same name")
    zips = [n for n in named if n.lower().endswith(".zip")]
    if zips:
        if len(named) != 1:
            raise RecordingFormatError("upload either one ZIP file or the record's files, not both")
        named = unpack_zip(zips[0], named[zips[0]], limits)
    recording = _parse_files(named, fs=fs, units=units)
    _check_signal(recording, limits)
    recording.lead_index = _choose_lead(recording.lead_names, lead)
    return recording


def _parse_files(named: dict[str, bytes], *, fs: float | None, units: str) -> ParsedRecording:
    suffixes = {Path(n).suffix.lower() for n in named}
    if ".hea" in suffixes:
        return parse_wfdb(named)
    if len(named) == 1:
        name, content = next(iter(named.items()))
        suffix = Path(name).suffix.lower()
        if suffix in (".csv", ".txt"):
            return parse_csv(name, content, fs=fs, units=units)
        if suffix == ".edf":
            return parse_edf(name, content)
        if suffix in (".dat", ".atr"):
            raise RecordingFormatError(f"{name}: a WFDB record needs its .hea header file too")
    listed = ", ".join(sorted(named))
    raise RecordingFormatError(
        f"unsupported upload ({listed}): send a WFDB record (.hea + .dat [+ .atr], as files or "
        "one ZIP), a CSV file or an EDF file"
    )


# -- ZIP -------------------------------------------------------------------------------------


def _safe_basename(name: str) -> str:
    """The file name without any folder part; browsers send only the name, but be strict."""
    base = posixpath.basename(str(name).replace("\\", "/"))
    if not base or base in (".", ".."):
        raise RecordingFormatError(f"invalid file name {name!r}")
    return base


def unpack_zip(zip_name: str, content: bytes, limits: Limits) -> dict[str, bytes]:
    """Members of a ZIP (files only, folders flattened) with traversal and bomb checks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RecordingFormatError(f"{zip_name}: not a readable ZIP file ({exc})") from exc
    files = [info for info in infos if not info.is_dir()]
    if len(files) > limits.max_zip_members:
        raise RecordingFormatError(
            f"{zip_name}: holds {len(files)} files; at most {limits.max_zip_members} are accepted"
        )
    out: dict[str, bytes] = {}
    total = 0
    for info in files:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise RecordingFormatError(
                f"{zip_name}: member {name!r} points outside the archive's folder; refused"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise RecordingFormatError(f"{zip_name}: member {name!r} is a symbolic link; refused")
        if parts[-1].startswith(".") or parts[0] == "__MACOSX":
            continue  # hidden files and macOS resource forks are not part of the record
        declared = info.file_size
        if declared > limits.max_zip_ratio * max(info.compress_size, 1) and declared > 1_000_000:
            raise RecordingFormatError(
                f"{zip_name}: member {name!r} expands {declared / max(info.compress_size, 1):.0f}"
                " times (a ZIP bomb?); refused"
            )
        # Never trust the declared size: read at most what is still allowed, plus one byte.
        allowed = limits.max_unzipped_bytes - total
        try:
            with archive.open(info) as member:
                data = member.read(allowed + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            raise RecordingFormatError(f"{zip_name}: cannot extract {name!r} ({exc})") from exc
        total += len(data)
        if total > limits.max_unzipped_bytes:
            raise RecordingFormatError(
                f"{zip_name}: unpacks to more than {limits.max_unzipped_bytes / 1e6:.0f} MB "
                "(a ZIP bomb?); refused"
            )
        base = parts[-1]
        if base in out:
            raise RecordingFormatError(f"{zip_name}: two members are named {base!r}")
        out[base] = data
    if not out:
        raise RecordingFormatError(f"{zip_name}: the archive is empty")
    return out


# -- WFDB ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _private_folder(named: dict[str, bytes]):
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as folder:
        for name, content in named.items():
            (Path(folder) / name).write_bytes(content)
        yield Path(folder)


def parse_wfdb(named: dict[str, bytes]) -> ParsedRecording:
    import wfdb

    headers = sorted(n for n in named if n.lower().endswith(".hea"))
    if len(headers) > 1:
        raise RecordingFormatError(
            f"the upload holds several WFDB records ({', '.join(headers)}); upload one"
        )
    header_name = headers[0]
    record_name = header_name[: -len(".hea")]
    with _private_folder(named) as folder:
        base = str(folder / record_name)
        try:
            meta = wfdb.rdheader(base)
        except Exception as exc:  # wfdb raises many types for a bad header
            raise RecordingFormatError(f"{header_name}: unreadable WFDB header ({exc})") from exc
        if getattr(meta, "n_seg", None):
            raise RecordingFormatError(f"{header_name}: multi-segment records are not supported")
        if not meta.n_sig:
            raise RecordingFormatError(f"{header_name}: the header declares no signal")
        if not meta.fs:
            raise RecordingFormatError(f"{header_name}: the header gives no sampling rate")
        _check_wfdb_data_files(meta, named, header_name)
        record, signals = _read_wfdb_signals(base, meta, header_name)
        ann_samples = ann_symbols = None
        notes: list[str] = []
        atr_name = record_name + ".atr"
        if atr_name in named:
            try:
                ann = wfdb.rdann(base, "atr")
            except Exception as exc:
                raise RecordingFormatError(
                    f"{atr_name}: unreadable annotation file ({exc})"
                ) from exc
            samples, symbols = beat_annotations(
                np.asarray(ann.sample, dtype=np.int64), np.asarray(ann.symbol, dtype="<U2")
            )
            if len(samples) and (samples.min() < 0 or samples.max() >= signals.shape[1]):
                raise RecordingFormatError(
                    f"{atr_name}: annotations lie outside the record's {signals.shape[1]} samples"
                )
            ann_samples, ann_symbols = samples, symbols
        unused = sorted(set(named) - {header_name, atr_name} - set(record.file_name or []))
        if unused:
            notes.append(f"ignored files not part of record {record_name}: {', '.join(unused)}")
    return ParsedRecording(
        name=record_name,
        format="wfdb",
        fs=float(record.fs),
        lead_names=[str(s) for s in record.sig_name],
        signals=signals,
        lead_index=0,
        source_files=sorted(named),
        ann_samples=ann_samples,
        ann_symbols=ann_symbols,
        notes=notes,
    )


def _check_wfdb_data_files(meta, named: dict[str, bytes], header_name: str) -> None:
    """Every data file the header names is present and exactly as long as the header says."""
    if not meta.sig_len:
        raise RecordingFormatError(f"{header_name}: the header gives no number of samples")
    per_file: dict[str, list[int]] = {}
    for index, file_name in enumerate(meta.file_name):
        per_file.setdefault(file_name, []).append(index)
    for file_name, indices in per_file.items():
        if file_name not in named:
            raise RecordingFormatError(
                f"{header_name}: names data file {file_name}, which was not uploaded"
            )
        fmt = str(meta.fmt[indices[0]])
        if fmt not in WFDB_SAMPLE_BYTES:
            raise RecordingFormatError(f"{header_name}: WFDB sample format {fmt} is not supported")
        frames = sum((meta.samps_per_frame or [1] * meta.n_sig)[i] for i in indices)
        offset = int((meta.byte_offset or [0] * meta.n_sig)[indices[0]] or 0)
        expected = int(np.ceil(meta.sig_len * frames * WFDB_SAMPLE_BYTES[fmt])) + offset
        actual = len(named[file_name])
        if actual < expected:
            held = int((actual - offset) / (frames * WFDB_SAMPLE_BYTES[fmt]))
            raise RecordingFormatError(
                f"{header_name} declares {meta.sig_len} samples but {file_name} holds only "
                f"{held} (wrong sample count: {actual} bytes, {expected} expected)"
            )
        if actual > expected + 1:  # format 212 may pad one byte
            raise RecordingFormatError(
                f"{file_name} is longer than {header_name} declares ({actual} bytes for "
                f"{meta.sig_len} samples, {expected} expected): header and data disagree"
            )


def _read_wfdb_signals(base: str, meta, header_name: str) -> tuple[object, np.ndarray]:
    """(the last ``wfdb`` record read, all signals in mV as float32), checksums checked.

    Read WFDB_READ_FRAMES at a time: ``wfdb`` returns int64 samples and the conversion needs
    float64, so one read of a 24-hour two-lead record would take about 1.5 GB on top of the
    float32 result.
    """
    import wfdb

    record, signals = None, None
    sums = np.zeros(meta.n_sig, dtype=np.int64)
    for start in range(0, meta.sig_len, WFDB_READ_FRAMES):
        stop = min(start + WFDB_READ_FRAMES, meta.sig_len)
        try:
            record = wfdb.rdrecord(base, sampfrom=start, sampto=stop, physical=False)
        except Exception as exc:
            raise RecordingFormatError(
                f"{header_name}: header and data disagree, cannot read the samples ({exc})"
            ) from exc
        if signals is None:
            signals = np.empty((record.n_sig, meta.sig_len), dtype=np.float32)
        if record.d_signal is not None:
            sums += _wfdb_valid_sums(record)
        signals[:, start:stop] = _wfdb_physical(record, header_name)
    _check_wfdb_checksums(meta, sums, header_name)
    return record, signals


def _wfdb_valid_sums(record) -> np.ndarray:
    """Per signal, the sum of the samples read that are not WFDB's "invalid" value."""
    sums = np.zeros(record.n_sig, dtype=np.int64)
    for index in range(record.n_sig):
        column = record.d_signal[:, index].astype(np.int64)
        sums[index] = column[column != _wfdb_invalid(record.fmt[index])].sum()
    return sums


def _check_wfdb_checksums(meta, sums: np.ndarray, header_name: str) -> None:
    """WFDB headers carry a 16-bit checksum of each signal: it catches a swapped data file."""
    if meta.checksum is None:
        return
    for index, expected in enumerate(meta.checksum):
        if expected is None:
            continue
        if ((int(sums[index]) - int(expected)) % 65536) != 0:
            raise RecordingFormatError(
                f"{header_name}: the checksum of signal {meta.sig_name[index]} does not match "
                "its data file: header and data disagree"
            )


def _wfdb_invalid(fmt: str) -> int:
    return {"8": -128, "16": -32768, "61": -32768, "80": -128, "160": -32768, "212": -2048,
            "24": -8388608, "32": -2147483648}.get(str(fmt), -32768)  # fmt: skip


def _wfdb_physical(record, header_name: str) -> np.ndarray:
    digital = record.d_signal.astype(np.float64)
    signals = np.empty((record.n_sig, digital.shape[0]), dtype=np.float32)
    for index in range(record.n_sig):
        column = digital[:, index]
        invalid = column == _wfdb_invalid(record.fmt[index])
        gain = float(record.adc_gain[index]) or 200.0  # WFDB: a gain of 0 means 200
        physical = (column - float(record.baseline[index])) / gain
        physical[invalid] = np.nan
        signals[index] = physical * _unit_factor(record.units[index], header_name)
    return signals


def _unit_factor(unit: str | None, where: str) -> float:
    key = (unit or "mV").strip().lower()
    if key not in UNITS_TO_MV:
        raise RecordingFormatError(
            f"{where}: signal unit {unit!r} is not a voltage (mV, uV or V expected)"
        )
    return UNITS_TO_MV[key]


# -- CSV -------------------------------------------------------------------------------------

TIME_HEADER = re.compile(r"^\s*(time|t|sec|secs|seconds|s|ms|timestamp|elapsed)\b", re.I)
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
        factor, unit_error = _unit_factor(units, name), None
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
    file_fs = None
    if table.time is not None:
        header = headers[0] if headers else ""
        step = table.time.median_step(name)
        if step is None:  # too many distinct steps to follow block by block: read it again
            file_fs = _fs_from_time(name, _csv_first_column(source, table.rows), header)
        else:
            file_fs = _fs_from_step(step, header)
        headers = headers[1:]
    if table.signals.shape[0] == 0:
        raise RecordingFormatError(f"{name}: no signal column besides the time column")
    if file_fs is None:
        if not fs:
            raise RecordingFormatError(
                f"{name}: the sampling rate cannot be read from this file (no time column); "
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
    if headers:
        return bool(TIME_HEADER.match(headers[0]))
    # No header: a first column that increases evenly is time, not a lead.
    steps = np.diff(values[: min(len(values), TIME_SNIFF_ROWS), 0])
    return bool(len(steps) and np.all(np.isfinite(steps)) and np.all(steps > 0)
                and np.ptp(steps) <= 0.01 * np.median(steps))  # fmt: skip


class _TimeSteps:
    """The checks of ``_fs_from_time`` block by block, without keeping the time column (8 bytes
    a row, twice a float32 lead): empty cells, the first step that does not increase, and
    each distinct step with its count and first row, from which the median step and the first
    irregular step come out exactly as from the whole column. Even time columns have few
    distinct steps (their text has few digits); past TIME_STEPS_KEPT the column is read again.
    """

    def __init__(self) -> None:
        self.rows = 0
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

    def median_step(self, name: str) -> float | None:
        """``np.median`` of the steps after the checks of ``_fs_from_time``; None when the
        steps were too many to follow."""
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
        off = self.firsts[np.abs(self.values - step) > 0.01 * step]
        if off.size:
            raise _irregular_time(name, int(off.min()))
        return step


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
    step = float(np.median(steps))
    off = np.flatnonzero(np.abs(steps - step) > 0.01 * step)
    if off.size:
        raise _irregular_time(name, int(off[0]))
    return _fs_from_step(step, header)


def _fs_from_step(step: float, header: str) -> float:
    if re.search(r"\bms\b|milli", header, re.I):
        step /= 1000.0
    return round(1.0 / step, 6)


# -- EDF -------------------------------------------------------------------------------------

EDF_BLOCK_SAMPLES = 1 << 16  # samples of each signal converted at a time (int64 + float64: 1 MB)


@dataclass(frozen=True)
class _EdfLayout:
    """What ``wfdb.io.convert.edf.read_edf`` derives from an EDF header, derived the same way."""

    fs: int  # the gcd of the signals' rates (``int(samples per record / record duration)``)
    sig_len: int
    names: list[str]
    units: list[str]
    per_record: list[int]  # samples of each signal in one data record
    samps_per_frame: list[int]
    baseline: np.ndarray  # int64
    gain: np.ndarray  # float64, digital units per physical unit
    data_offset: int


def parse_edf(name: str, content: bytes) -> ParsedRecording:
    """The header read by ``wfdb`` (which refuses what it cannot read); the samples read here, a
    block of data records at a time, converted as ``read_edf`` converts them. ``read_edf`` reads
    every sample as int64 and float64 at once: about 9 times the file."""
    if not content.startswith(b"0       "):
        raise RecordingFormatError(f"{name}: not an EDF file (wrong header)")
    layout = _edf_layout(name, content)
    per_record_all = sum(layout.per_record)
    n_items = max(len(content) - layout.data_offset, 0) // 2  # a last odd byte is ignored
    if n_items % per_record_all:
        raise RecordingFormatError(
            f"{name}: unreadable EDF file (its {n_items} samples are not a whole number of data "
            f"records of {per_record_all})"
        )
    n_records = n_items // per_record_all
    rates = set(layout.samps_per_frame or [1])
    if len(rates) != 1:
        raise RecordingFormatError(
            f"{name}: its signals have different sampling rates; export one rate per file"
        )
    held = {n_records * count for count in layout.per_record}
    if not n_records or held != {layout.sig_len}:
        raise RecordingFormatError(
            f"{name}: unreadable EDF file (the header declares {layout.sig_len} samples a signal,"
            f" its {n_records} data records hold {', '.join(map(str, sorted(held)))})"
        )
    keep = [i for i, n in enumerate(layout.names) if "annotation" not in str(n).lower()]
    factors = [_unit_factor(layout.units[i], name) for i in keep]
    records = np.frombuffer(content, dtype="<i2", count=n_items, offset=layout.data_offset)
    records = records.reshape(n_records, per_record_all)
    starts = np.concatenate([[0], np.cumsum(layout.per_record)])
    signals = np.empty((len(keep), layout.sig_len), dtype=np.float32)
    step = max(1, EDF_BLOCK_SAMPLES // max(layout.per_record))
    for first in range(0, n_records, step):
        last = min(first + step, n_records)
        for out, (index, factor) in enumerate(zip(keep, factors, strict=True)):
            count = layout.per_record[index]
            digital = records[first:last, starts[index] : starts[index + 1]].reshape(-1)
            physical = (digital.astype(np.int64) - layout.baseline[index]) / layout.gain[index]
            signals[out, first * count : last * count] = physical * factor
    return ParsedRecording(
        name=Path(name).stem,
        format="edf",
        fs=float(layout.fs) * next(iter(rates)),
        lead_names=[str(layout.names[i]) for i in keep],
        signals=signals,
        lead_index=0,
        source_files=[name],
    )


def _edf_layout(name: str, content: bytes) -> _EdfLayout:
    """``read_edf(header_only=True)`` on the header alone refuses what ``read_edf`` refuses in
    the header and gives the names, units, rate and length; the numbers it does not return
    (gains, baselines, samples per record) are read from the same fields and derived with its
    formulas, so the samples come out as ``read_edf`` gives them."""
    from wfdb.io.convert.edf import read_edf

    try:
        n_sig = max(int(content[252:256].decode("iso8859-1")), 0)
    except ValueError:
        n_sig = 0  # read_edf refuses it below
    header_size = 256 * (1 + n_sig)
    with _private_folder({name: content[:header_size]}) as folder:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                header = read_edf(str(folder / name), header_only=True)
        except Exception as exc:
            raise RecordingFormatError(f"{name}: unreadable EDF file ({exc})") from exc

    def fields(offset: int, width: int) -> list[str]:
        """One header field of every signal; ``offset`` after the 256 fixed bytes, per signal."""
        first = 256 + offset * n_sig
        return [content[first + i * width : first + (i + 1) * width].decode("iso8859-1")
                for i in range(n_sig)]  # fmt: skip

    # Per signal: label 16, transducer 80, dimension 8, physical min 8 and max 8, digital min 8
    # and max 8, prefiltering 80, samples per record 8, reserved 32 bytes.
    physical_min, physical_max, digital_min, digital_max = (
        np.array([float(v) for v in fields(offset, 8)]) for offset in (104, 112, 120, 128)
    )
    per_record = [int(v) for v in fields(216, 8)]
    with np.errstate(all="ignore"):  # read_edf computes them unguarded, warnings and all
        gain = (digital_max - digital_min) / (physical_max - physical_min)
        baseline = (digital_max - (physical_max * gain) + 1).astype("int64")
    return _EdfLayout(
        fs=int(header["fs"]),
        sig_len=int(header["sig_len"]),
        names=list(header["sig_name"]),
        units=list(header["units"]),
        per_record=per_record,
        samps_per_frame=[int(s / min(per_record)) for s in per_record],
        baseline=baseline,
        gain=gain,
        data_offset=header_size,
    )


# -- checks shared by every format ------------------------------------------------------------


def _check_signal(recording: ParsedRecording, limits: Limits) -> None:
    where = recording.source_files[0] if len(recording.source_files) == 1 else recording.name
    if not MIN_FS <= recording.fs <= MAX_FS:
        raise RecordingFormatError(
            f"{where}: sampling rate {recording.fs:g} Hz is outside {MIN_FS:g}-{MAX_FS:g} Hz"
        )
    if recording.signals.shape[0] == 0:
        raise RecordingFormatError(f"{where}: no ECG signal found")
    if recording.duration_s < MIN_DURATION_S:
        raise RecordingFormatError(
            f"{where}: the recording lasts {recording.duration_s:.1f} s; at least "
            f"{MIN_DURATION_S:g} s are needed"
        )
    if recording.duration_s > limits.max_duration_s:
        raise RecordingFormatError(
            f"{where}: the recording lasts {recording.duration_s / 3600:.1f} h; the limit is "
            f"{limits.max_duration_s / 3600:g} h"
        )
    for index, lead_name in enumerate(recording.lead_names):
        recording.signals[index], bridged = bridge_short_gaps(
            recording.signals[index], recording.fs, where=f"{where}, lead {lead_name}"
        )
        if bridged:
            recording.notes.append(
                f"lead {lead_name}: bridged {bridged} short gap(s) of missing samples"
            )


def bridge_short_gaps(x: np.ndarray, fs: float, *, where: str) -> tuple[np.ndarray, int]:
    """Linearly bridge runs of missing samples up to MAX_GAP_S; refuse longer runs by time."""
    missing = ~np.isfinite(x)
    if not missing.any():
        return x, 0
    if missing.all():
        raise RecordingFormatError(f"{where}: every sample is missing")
    edges = np.diff(missing.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    longest = int(np.argmax(ends - starts))
    if (ends[longest] - starts[longest]) / fs > MAX_GAP_S:
        raise RecordingFormatError(
            f"{where}: {(ends[longest] - starts[longest]) / fs:.2f} s of missing samples (NaN) "
            f"from {starts[longest] / fs:.2f} s; runs longer than {MAX_GAP_S:g} s are not accepted"
        )
    # np.interp over the valid samples next to a gap only: each missing sample lies between the
    # same two of them as among all valid samples, so it gets the same value, without the int64
    # and float64 copies of the whole lead that interpolating over all of them made.
    neighbours = np.concatenate([starts - 1, ends])
    neighbours = np.unique(neighbours[(neighbours >= 0) & (neighbours < x.size)])
    gaps = np.flatnonzero(missing)
    filled = x.astype(np.float32)
    filled[gaps] = np.interp(gaps, neighbours, x[neighbours])
    return filled, len(starts)


def _choose_lead(lead_names: list[str], wanted: str | None) -> int:
    if wanted:
        for index, name in enumerate(lead_names):
            if name.strip().upper() == wanted.strip().upper():
                return index
        if wanted.strip().isdigit() and 1 <= int(wanted) <= len(lead_names):
            return int(wanted) - 1
        raise RecordingFormatError(
            f"lead {wanted!r} not found; the recording has {', '.join(lead_names)}"
        )
    for index, name in enumerate(lead_names):
        if name.strip().upper() == PREFERRED_LEAD:
            return index
    return 0


def describe_limits(limits: Limits) -> str:
    return (
        f"up to {megabytes(limits.max_bytes)} MB and {limits.max_duration_s / 3600:g} hours; "
        f"sampling rate {MIN_FS:g}-{MAX_FS:g} Hz"
    )


def megabytes(n_bytes: float, *, round_up: bool = False) -> str:
    """``n_bytes`` in MB (10^6 bytes) to a tenth: "100", "52.4". A limit is rounded down and an
    upload's size up, so an upload over the limit never reads as equal to it."""
    tenths = n_bytes / 1e5
    tenths = math.ceil(tenths) if round_up else math.floor(tenths)
    return f"{tenths / 10:.1f}".removesuffix(".0")


def size_refusal(total: int, limit: int) -> str:
    """Why an upload of ``total`` bytes is refused; the form, the service and the parser all
    say it this way."""
    return (
        f"the files total {megabytes(total, round_up=True)} MB; the limit is {megabytes(limit)} MB"
    )


__all__ = [
    "Limits",
    "ParsedRecording",
    "RecordingFormatError",
    "bridge_short_gaps",
    "describe_limits",
    "megabytes",
    "parse_csv",
    "parse_edf",
    "parse_upload",
    "parse_wfdb",
    "size_refusal",
    "unpack_zip",
]
