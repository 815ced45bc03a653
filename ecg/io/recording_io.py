"""Reading an uploaded ECG recording: WFDB (several files or one ZIP) here, CSV
(``recording_csv``) or EDF (``recording_edf``), and the checks every format shares.

Everything here works on bytes already in memory (the upload limit bounds them) and returns a
``ParsedRecording`` in millivolts, or raises ``RecordingFormatError`` with a message that names the
file and the problem. WFDB samples, CSV rows and EDF data records are converted a block at a
time into the float32 result, so parsing needs little more than that result. Nothing is written
anywhere except a private temporary folder that is removed before returning, because the WFDB
and EDF (header) readers want paths.

Long on purpose: the WFDB reader beside the checks that every format shares.
"""

from __future__ import annotations

import io
import math
import posixpath
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg.features.beats import beat_annotations
from ecg.io.recording_base import (
    IMAGE_SUFFIXES,
    UNITS_TO_MV,
    ParsedRecording,
    RecordingFormatError,
    private_folder,
    unit_factor,
)
from ecg.io.recording_csv import parse_csv
from ecg.io.recording_edf import parse_edf
from ecg.io.records import PREFERRED_LEADS, normalised_lead

__all__ = [
    "UNITS_TO_MV",
    "Limits",
    "ParsedRecording",
    "RecordingFormatError",
    "parse_csv",
    "parse_edf",
    "parse_upload",
]

MIN_FS = 100.0  # below this the QRS is too smeared to detect and classify
MAX_FS = 10_000.0
MIN_DURATION_S = 10.0
MAX_GAP_S = 1.0  # missing-sample runs up to this long are bridged; longer ones are refused
# No ECG front end takes more than a few hundred mV (electrode offsets included): a sample
# beyond 10 V is a broken file or wrong units, and overflows the float32 filters downstream.
MAX_ABS_MV = 10_000.0
WFDB_SAMPLE_BYTES = {"8": 1.0, "16": 2.0, "61": 2.0, "80": 1.0, "160": 2.0, "212": 1.5,
                     "24": 3.0, "32": 4.0}  # fmt: skip
WFDB_READ_FRAMES = 1 << 18  # frames per read of the samples (12 min at 360 Hz)


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


UploadedFiles = Sequence[tuple[str, bytes]]


def parse_upload(
    files: UploadedFiles,
    *,
    fs: float | None = None,
    lead: str | None = None,
    units: str = "mV",
    trace_height_mv: float | None = None,
    limits: Limits | None = None,
) -> ParsedRecording:
    """Parse uploaded ``(file name, content)`` pairs into one recording.

    ``fs`` is used only when the file cannot say it (CSV without a time column), ``units`` only
    for CSV, ``trace_height_mv`` only for a strip image whose scale cannot be read
    (``recording_image.parse_image``), ``lead`` picks a lead by name when there are several
    (MLII otherwise, else the first).
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
    recording = _parse_files(named, fs=fs, units=units, trace_height_mv=trace_height_mv)
    _check_signal(recording, limits)
    if not _names_its_lead(recording, lead):
        recording.lead_index = choose_upload_lead(recording.lead_names, lead)
    return recording


# One trace whose lead the file does not name: an image, or a CSV column without a header.
_UNNAMED_LEAD = re.compile(r"image|lead \d+", re.IGNORECASE)


def _names_its_lead(recording: ParsedRecording, lead: str | None) -> bool:
    """Give a single unnamed trace the lead the uploader typed ("II" for a strip photo), so
    the lead checks see the real lead; True when it did."""
    wanted = (lead or "").strip()
    if (
        not wanted
        or wanted.isdigit()
        or len(recording.lead_names) != 1
        or not _UNNAMED_LEAD.fullmatch(recording.lead_names[0].strip())
    ):
        return False
    recording.lead_names = [wanted[:32]]
    recording.lead_index = 0
    recording.notes.append(f"lead {wanted[:32]}, as given at upload")
    return True


def _parse_files(
    named: dict[str, bytes], *, fs: float | None, units: str, trace_height_mv: float | None
) -> ParsedRecording:
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
        if suffix in IMAGE_SUFFIXES:
            from ecg.io.recording_image import parse_image  # the digitiser: loaded when needed

            return parse_image(name, content, trace_height_mv=trace_height_mv)
        if suffix in (".dat", ".atr"):
            raise RecordingFormatError(f"{name}: a WFDB record needs its .hea header file too")
    listed = ", ".join(sorted(named))
    raise RecordingFormatError(
        f"unsupported upload ({listed}): send a WFDB record (.hea + .dat [+ .atr], as files or "
        "one ZIP), a CSV file, an EDF file or one image of a rhythm strip"
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
        if info.flag_bits & 0x1:  # zipfile would raise a bare RuntimeError asking for a password
            raise RecordingFormatError(
                f"{zip_name}: member {name!r} is encrypted; upload a ZIP without a password"
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


def parse_wfdb(named: dict[str, bytes]) -> ParsedRecording:
    import wfdb

    headers = sorted(n for n in named if n.lower().endswith(".hea"))
    if len(headers) > 1:
        raise RecordingFormatError(
            f"the upload holds several WFDB records ({', '.join(headers)}); upload one"
        )
    header_name = headers[0]
    record_name = header_name[: -len(".hea")]
    with private_folder(named) as folder:
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
    sums = np.zeros((2, meta.n_sig), dtype=np.int64)
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
    """Per signal (columns), the sum of the samples read that are not WFDB's "invalid" value
    (row 0) and the sum of those that are (row 1)."""
    sums = np.zeros((2, record.n_sig), dtype=np.int64)
    for index in range(record.n_sig):
        column = record.d_signal[:, index].astype(np.int64)
        invalid = column == _wfdb_invalid(record.fmt[index])
        sums[:, index] = column[~invalid].sum(), column[invalid].sum()
    return sums


def _check_wfdb_checksums(meta, sums: np.ndarray, header_name: str) -> None:
    """WFDB headers carry a 16-bit checksum of each signal: it catches a swapped data file.

    ``sums``: ``_wfdb_valid_sums`` of the whole record. ``wfdb`` writes the sum of every sample,
    the invalid ones (missing, NaN) included; a checksum over the valid samples alone is
    accepted too. Issue 18 (fuzzing): only the latter was, so a record ``wfdb`` wrote with an
    odd number of missing samples (format 16; any number but a multiple of 32 in format 212)
    was refused as "header and data disagree"."""
    if meta.checksum is None:
        return
    for index, expected in enumerate(meta.checksum):
        if expected is None:
            continue
        valid, invalid = (int(v) for v in sums[:, index])
        if all((total - int(expected)) % 65536 for total in (valid, valid + invalid)):
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
        signals[index] = physical * unit_factor(record.units[index], header_name)
    return signals


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
            f"{where}: the recording lasts {_apart(recording.duration_s, MIN_DURATION_S)} s; at "
            f"least {MIN_DURATION_S:g} s are needed"
        )
    if recording.duration_s > limits.max_duration_s:
        raise RecordingFormatError(
            f"{where}: the recording lasts "
            f"{_apart(recording.duration_s / 3600, limits.max_duration_s / 3600)} h; the limit is "
            f"{limits.max_duration_s / 3600:g} h"
        )
    for index, lead_name in enumerate(recording.lead_names):
        check_amplitude(recording.signals[index], recording.fs, where=f"{where}, lead {lead_name}")
        recording.signals[index], bridged = bridge_short_gaps(
            recording.signals[index], recording.fs, where=f"{where}, lead {lead_name}"
        )
        if bridged:
            recording.notes.append(
                f"lead {lead_name}: bridged {bridged} short gap(s) of missing samples"
            )


def _apart(value: float, bound: float) -> str:
    """``value`` with the fewest decimals (at least one) that do not round it onto or past
    ``bound``: 3,599 samples at 360 Hz "last 9.997 s", not "10.0 s; at least 10 s"."""
    for digits in range(1, 7):
        shown = round(value, digits)
        if (shown < bound) == (value < bound) and shown != bound:
            return f"{shown:.{digits}f}"
    return f"{value:g}"


def check_amplitude(x: np.ndarray, fs: float, *, where: str) -> None:
    """Refuse infinite samples and samples beyond ``MAX_ABS_MV`` (NaN is "missing", bridged or
    refused by ``bridge_short_gaps``). fmax/fmin skip NaN and make no copy of a long lead; a
    lead of NaN only gives NaN, which no comparison finds beyond the limit either."""
    low, high = (np.fmin.reduce(x, axis=None), np.fmax.reduce(x, axis=None)) if x.size else (0, 0)
    if not (low < -MAX_ABS_MV or high > MAX_ABS_MV):
        return
    first = int(np.flatnonzero(np.abs(x) > MAX_ABS_MV)[0])
    value = float(x[first])
    shown = "an infinite value" if math.isinf(value) else f"a value of {value:.3g} mV"
    raise RecordingFormatError(
        f"{where}: {shown} at {first / fs:.2f} s is not a possible ECG sample (the limit is "
        f"{MAX_ABS_MV / 1000:g} V); check the file and its units"
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


def choose_upload_lead(lead_names: list[str], wanted: str | None) -> int:
    """Index of the lead an upload is analysed on: ``wanted`` (a name or a 1-based number)
    when given, else the first of ``PREFERRED_LEADS`` present, else the first channel."""
    if wanted:
        for index, name in enumerate(lead_names):  # the exact name first ("MLII" of MLII, II)
            if name.strip().upper() == wanted.strip().upper():
                return index
        for index, name in enumerate(lead_names):
            if normalised_lead(name) == normalised_lead(wanted):
                return index
        if wanted.strip().isdigit() and 1 <= int(wanted) <= len(lead_names):
            return int(wanted) - 1
        raise RecordingFormatError(
            f"lead {wanted!r} not found; the recording has {', '.join(lead_names)}"
        )
    present = [name.strip().upper() for name in lead_names]
    for preferred in PREFERRED_LEADS:  # the exact name first, then its spellings ("Lead II")
        if preferred in present:
            return present.index(preferred)
    known = [normalised_lead(name) for name in lead_names]
    for preferred in PREFERRED_LEADS:
        if normalised_lead(preferred) in known:
            return known.index(normalised_lead(preferred))
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
