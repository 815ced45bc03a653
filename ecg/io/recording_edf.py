"""Reading an uploaded EDF recording a block of data records at a time (``parse_edf``)."""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg.io.recording_base import ParsedRecording, RecordingFormatError, private_folder, unit_factor

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
    factors = [unit_factor(layout.units[i], name) for i in keep]
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
    with private_folder({name: content[:header_size]}) as folder:
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
    ranges = (physical_min, physical_max, digital_min, digital_max)
    _check_edf_fields(name, header, per_record, *ranges)
    with np.errstate(all="ignore"):  # read_edf computes them unguarded, warnings and all
        gain = (digital_max - digital_min) / (physical_max - physical_min)
        baseline = (digital_max - (physical_max * gain) + 1).astype("int64")
    _refuse_fractional_rates(name, content, per_record, list(header["sig_name"]))
    fs, sig_len = _rate_and_length(content, per_record, int(header["fs"]), int(header["sig_len"]))
    return _EdfLayout(
        fs=fs,
        sig_len=sig_len,
        names=list(header["sig_name"]),
        units=list(header["units"]),
        per_record=per_record,
        samps_per_frame=[int(s / min(per_record)) for s in per_record],
        baseline=baseline,
        gain=gain,
        data_offset=header_size,
    )


def _whole(value: float) -> int:
    """``int(value)`` as ``read_edf`` takes it, but a value a rounding error under a whole
    number (69.99999999999999) is that number."""
    nearest = round(value)
    return int(nearest) if abs(value - nearest) <= 1e-9 * max(1.0, abs(value)) else int(value)


def _rate_and_length(
    content: bytes, per_record: list[int], fs: int, sig_len: int
) -> tuple[int, int]:
    """(rate, samples a signal) by ``read_edf``'s formulas (the gcd of ``int(samples per
    record / record duration)``, ``int(rate * records * duration)``) without its truncation of
    binary rounding errors: with 0.7-s data records it read 0.7 * 360 * 4 as 1007 samples, not
    1008, and refused 15-22 % of the lengths of a valid file; 7 samples in 0.07 s gave
    99 Hz. Values a whole number apart from rounding are taken as that number; the rest (a
    rate that is truly not whole) as ``read_edf`` takes them."""
    try:
        records = int(content[236:244].decode("iso8859-1"))
        duration = float(content[244:252].decode("iso8859-1"))
    except ValueError:
        return fs, sig_len  # read_edf read them; keep its values
    if duration <= 0 or records < 0:
        return fs, sig_len
    fs = math.gcd(*(_whole(count / duration) for count in per_record))
    return fs, _whole(fs * records * duration)


def _refuse_fractional_rates(
    name: str, content: bytes, per_record: list[int], labels: list[str]
) -> None:
    """A signal whose samples per data record over the record's duration is no whole number
    of Hz (38 samples in 0.3 s: 126.67 Hz) is read by ``read_edf`` at the truncated rate, and
    then refused as "unreadable"; say what is wrong instead."""
    try:
        duration = float(content[244:252].decode("iso8859-1"))
    except ValueError:
        return
    for count, label in zip(per_record, labels, strict=True):
        if "annotation" in str(label).lower():
            continue  # not a lead (``parse_edf`` drops it)
        rate = count / duration if duration > 0 else 0.0
        if rate and abs(rate - round(rate)) > 1e-9 * max(1.0, rate):
            raise RecordingFormatError(
                f"{name}: {count} samples per {duration:g}-s data record is {rate:.6g} Hz, not a "
                "whole number of Hz; export the recording at a whole-number sampling rate"
            )


def _check_edf_fields(name: str, header: dict, per_record: list[int], *ranges) -> None:
    """What ``read_edf`` does not refuse but divides by: a signal without samples (or with a
    negative count) and a physical or digital range of zero width (or not a number)."""
    labels = [str(label).strip() or f"signal {i + 1}" for i, label in enumerate(header["sig_name"])]
    for index, count in enumerate(per_record):
        if count <= 0:
            raise RecordingFormatError(
                f"{name}: signal {labels[index]!r} declares {count} samples per data record; "
                "at least 1 is needed"
            )
    physical_min, physical_max, digital_min, digital_max = ranges
    for index, label in enumerate(labels):
        for kind, low, high in (
            ("physical", physical_min[index], physical_max[index]),
            ("digital", digital_min[index], digital_max[index]),
        ):
            if not (np.isfinite(low) and np.isfinite(high)) or low == high:
                raise RecordingFormatError(
                    f"{name}: signal {label!r} has {kind} minimum {low:g} and maximum {high:g}; "
                    "the samples cannot be converted to millivolts"
                )
