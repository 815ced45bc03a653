"""CSV and EDF uploads read in blocks give what reading the whole file at once gave.

The references are the parsers as they were before they read in blocks: pandas on the whole
decoded text for CSV, ``wfdb``'s ``read_edf`` on the whole file for EDF. Both sides run through
``parse_upload`` (the reference swapped in for the parser), so the gap bridging and the limits
are compared too. Block sizes are made tiny and odd so blocks end inside runs of missing cells,
between two time steps and inside EDF data records.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ecg.io import recording_csv, recording_edf, recording_io
from ecg.io.recording_base import ParsedRecording, RecordingFormatError, unit_factor
from ecg.io.recording_csv import (
    _cell_numbers,
    _fs_from_time,
    _is_number_or_missing,
    _time_column,
    refuse_monotonic_leads,
    time_column_note,
)
from ecg.io.recording_io import bridge_short_gaps, parse_upload

from .synth import edf_bytes, heap_peak, long_ecg, write_wfdb

FS = 360.0
BLOCK_CELLS = (21, 1000, recording_csv.CSV_BLOCK_CELLS)  # 21: blocks of 21, 10 or 7 rows


# -- the references -----------------------------------------------------------------------------


def whole_file_csv(name: str, content: bytes, *, fs: float | None, units: str = "mV"):
    """``parse_csv`` before it read in blocks: the whole text decoded, split and parsed at once
    (errors in the same order)."""
    import pandas as pd

    try:
        text = content.decode("utf-8-sig").strip() + "\n"
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(f"{name}: not a text file (CSV must be UTF-8)") from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise RecordingFormatError(f"{name}: the file is empty")
    sep = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    has_header = any(not _is_number_or_missing(c.strip().strip('"')) for c in first.split(sep))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=0 if has_header else None,
                            dtype=str, keep_default_na=False, skip_blank_lines=False)  # fmt: skip
    except Exception as exc:
        raise RecordingFormatError(f"{name}: malformed CSV ({exc})") from exc
    if frame.shape[0] == 0:
        raise RecordingFormatError(f"{name}: no data rows")
    bad: dict[int, tuple[int, str]] = {}
    values = _cell_numbers(frame, bad, 0)  # cell by cell, as the whole frame was converted
    if bad:
        row, cell = bad[min(bad)]
        raise RecordingFormatError(
            f"{name}: line {row + 1 + has_header}, column {min(bad) + 1}: {cell!r} is not a number"
        )
    headers = [str(c) for c in frame.columns] if has_header else []
    notes = []
    if _time_column(headers, values):
        fs = _fs_from_time(name, values[:, 0], headers[0] if headers else "")
        notes.append(time_column_note(headers[0] if headers else "", fs))
        values, headers = values[:, 1:], headers[1:]
    leads = [h.strip() or f"lead {i + 1}" for i, h in enumerate(headers)] or [
        f"lead {i + 1}" for i in range(values.shape[1])
    ]
    refuse_monotonic_leads(name, values.T, leads)
    signals = (values.T * unit_factor(units, name)).astype(np.float32)
    return ParsedRecording(Path(name).stem, "csv", fs, leads, signals, 0, [name], notes=notes)


def whole_file_edf(name: str, content: bytes) -> ParsedRecording:
    """``parse_edf`` before it read in blocks: ``read_edf`` on the whole file."""
    from wfdb.io.convert.edf import read_edf

    if not content.startswith(b"0       "):
        raise RecordingFormatError(f"{name}: not an EDF file (wrong header)")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / name).write_bytes(content)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                record = read_edf(str(Path(folder) / name))
        except Exception as exc:
            raise RecordingFormatError(f"{name}: unreadable EDF file ({exc})") from exc
    if len(set(record.samps_per_frame)) != 1:
        raise RecordingFormatError(
            f"{name}: its signals have different sampling rates; export one rate per file"
        )
    keep = [i for i, n in enumerate(record.sig_name) if "annotation" not in str(n).lower()]
    signals = np.array([record.p_signal[:, i] * unit_factor(record.units[i], name)
                        for i in keep], dtype=np.float32).reshape(len(keep), -1)  # fmt: skip
    fs = float(record.fs) * record.samps_per_frame[0]
    return ParsedRecording(Path(name).stem, "edf", fs, [str(record.sig_name[i]) for i in keep],
                           signals, 0, [name])  # fmt: skip


def outcome(files, **options):
    try:
        recording = parse_upload(files, limits=recording_io.Limits(max_bytes=10**9), **options)
    except RecordingFormatError as exc:
        return str(exc)
    return recording


def whole_file_outcome(monkeypatch, name: str, content: bytes, **options):
    with monkeypatch.context() as reference:
        reference.setattr(recording_io, "parse_csv", whole_file_csv)
        reference.setattr(recording_io, "parse_edf", whole_file_edf)
        return outcome([(name, content)], **options)


def assert_same_as_whole_file(monkeypatch, name: str, content: bytes, **options):
    """The upload parsed in blocks of each size equals the whole-file reference (recording or
    refusal); returns the recording or the message."""
    expected = whole_file_outcome(monkeypatch, name, content, **options)
    for cells in BLOCK_CELLS:
        monkeypatch.setattr(recording_csv, "CSV_BLOCK_CELLS", cells)
        monkeypatch.setattr(recording_edf, "EDF_BLOCK_SAMPLES", cells)
        got = outcome([(name, content)], **options)
        if isinstance(expected, str):
            assert got == expected, cells
            continue
        assert not isinstance(got, str), got
        np.testing.assert_array_equal(got.signals, expected.signals)
        assert got.signals.dtype == np.float32 and got.signals.flags.c_contiguous
        assert (got.fs, got.lead_names, got.lead_index, got.notes) == (
            expected.fs, expected.lead_names, expected.lead_index, expected.notes
        )  # fmt: skip
    return expected


def lines(*rows: str, end: str = "\n") -> bytes:
    return (end.join(rows) + end).encode()


def timed(indices) -> bytes:
    """A time column at 250 Hz (``indices`` give the rows' times) and a constant lead."""
    return b"t,v\n" + b"".join(b"%.3f,1\n" % (i / 250) for i in indices)


def lead(seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    return long_ecg(FS, seconds, seed=seed)


# -- CSV -----------------------------------------------------------------------------------------


def test_one_column_without_header_and_trailing_blank_lines(monkeypatch):
    rows = [f"{v:.4f}" for v in lead()]
    rec = assert_same_as_whole_file(monkeypatch, "a.csv", lines(*rows) + b"\n\n  \n", fs=FS)
    assert rec.n_samples == len(rows)
    assert_same_as_whole_file(monkeypatch, "a.csv", lines(*rows)[:-1], fs=FS)  # no final newline


def test_time_in_seconds_and_two_leads_with_header(monkeypatch):
    x, y = lead(), lead(seed=1)
    rows = [f"{i / FS:.6f},{a:.4f},{b:.4f}" for i, (a, b) in enumerate(zip(x, y, strict=True))]
    rec = assert_same_as_whole_file(monkeypatch, "b.csv", lines("time,MLII,V1", *rows))
    # times to 6 decimals: the median step 0.002778 s gave 359.971 Hz; the mean step of a
    # column rounded to its digits gives the rate (recording_csv._rounded_even_step)
    assert rec.lead_names == ["MLII", "V1"] and rec.fs == 360.0
    # odd and even numbers of steps: the same from blocks as from the whole column
    assert_same_as_whole_file(monkeypatch, "b.csv", lines("time,MLII,V1", *rows[:-1]))


def test_time_in_milliseconds_microvolts_headerless_time_and_crlf(monkeypatch):
    x = lead(seconds=14.0)  # 10.1 s at 500 Hz
    rows = [f"{i * 1000 / 500:.3f};{v * 1000:.1f}" for i, v in enumerate(x)]
    rec = assert_same_as_whole_file(monkeypatch, "c.csv", lines("ms;value", *rows), units="uV")
    assert rec.fs == 500.0
    headerless = [f"{i / 250:.4f}\t{v:.4f}" for i, v in enumerate(x)]
    rec = assert_same_as_whole_file(monkeypatch, "d.csv", lines(*headerless, end="\r\n"))
    assert rec.fs == 250.0 and rec.lead_names == ["lead 1"]


def test_missing_cells_at_block_boundaries_are_bridged_alike(monkeypatch):
    rows = [f"{v:.4f}" for v in lead()]
    for at in (0, 20, 21, 999, 1000, 1020, 1021, 1041, 4000, len(rows) - 1):
        rows[at] = ""  # the first block of 1000 rows, then blocks of 21
    rows[2000:2300] = ["nan"] * 300  # 0.83 s across many blocks
    rows[3000] = "NA"
    rec = assert_same_as_whole_file(monkeypatch, "gap.csv", lines("MLII", *rows), fs=FS)
    # 8 runs: the last row, blank, is stripped with the end of the text
    assert rec.notes == ["lead MLII: bridged 8 short gap(s) of missing samples"]
    # and with a time column and a second lead missing other cells
    two = [f"{i / FS:.6f},{v},{'' if i % 500 == 7 else '0.1'}" for i, v in enumerate(rows)]
    rec = assert_same_as_whole_file(monkeypatch, "gap2.csv", lines("t,a,b", *two))
    assert len(rec.notes) == 3  # the time column, then a gap note for each lead


def test_a_gap_over_one_second_is_refused_with_the_same_message(monkeypatch):
    rows = [f"{v:.4f}" for v in lead()]
    rows[1003:1803] = ["NaN"] * 800
    message = assert_same_as_whole_file(monkeypatch, "long.csv", lines(*rows), fs=FS)
    assert message == (
        "long.csv, lead lead 1: 2.22 s of missing samples (NaN) from 2.79 s; runs longer than "
        "1 s are not accepted"
    )


def test_quoting_bom_and_unicode_spaces_and_odd_headers(monkeypatch):
    x = lead()
    rows = [f'"{i / FS:.6f}";"{v:.4f}";"{-v:.4f}"' for i, v in enumerate(x)]
    body = "\ufeff \u00a0\n\u2028" + "\n".join(['"Time (s)";"II";""', *rows]) + "\u3000\n \n"
    rec = assert_same_as_whole_file(monkeypatch, "q.csv", body.encode())
    assert rec.lead_names == ["II", "Unnamed: 2"]
    # a header cell holding a line break: one row fewer than lines, and duplicate lead names
    quoted = lines('"time\n(s)",V1,V1', *[f"{i / FS:.6f},{v:.4f},{v:.4f}" for i, v in enumerate(x)])
    assert assert_same_as_whole_file(monkeypatch, "r.csv", quoted).lead_names == ["V1", "V1.1"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b" \n\t\r\n",
        b"\xef\xbb\xbf",
        b"time,MLII\n",
        b"0.1\n" * 70_000 + b"\xff\n" + b"0.2\n" * 100,  # not UTF-8, past the first window
        b"t,v\n" + b"".join(b"%d,1\n" % i for i in range(5000)) + b"5000,1,2\n",  # malformed
        # a bad cell in column 2, one in column 1 later: column 1 is named
        b"t,v\n0,x\n" + timed(range(1, 5000))[4:] + b"y,1\n",
        # a bad cell, then a malformed line: the malformed line is named
        b"v\nx\n" + b"1\n" * 5000 + b"1,2\n",
        timed(range(3000)) + b",1\n",  # an empty time cell
        timed([*range(2000), 1999, *range(2000, 3000)]),
        timed([*range(2000), *range(2001, 3000)]),
        timed(range(3000)) + timed(range(3000, 6000))[4:],
        b"t,v\n0,1\n",  # one row: no step
        b"1,2\n" * 5000,  # headerless, the first column does not increase: two leads
    ],
    ids=["empty", "blank", "bom", "header-only", "not-utf8", "malformed", "lowest-column",
         "malformed-wins", "empty-time", "time-back", "time-skip", "even-time", "one-row",
         "not-time"],
)  # fmt: skip
def test_refusals_and_odd_files_match(monkeypatch, body):
    fs = None if body.startswith(b"t,") else FS  # the time column gives it
    assert_same_as_whole_file(monkeypatch, "e.csv", body, fs=fs)


def test_too_many_columns_are_refused_before_reading():
    with pytest.raises(RecordingFormatError, match="257 columns; at most 256"):
        parse_upload([("wide.csv", (",".join(["1"] * 257) + "\n").encode() * 10)], fs=FS)


def test_time_steps_beyond_what_is_followed_are_read_again(monkeypatch):
    """Jittered time stamps at full precision: every step differs, so the column is read again
    and checked whole; same rate, same irregular row."""
    rng = np.random.default_rng(0)
    times = (np.arange(5000) + rng.uniform(-0.002, 0.002, 5000)) / FS
    rows = [f"{t!r},{v:.4f}" for t, v in zip(times.tolist(), lead(14.0), strict=False)]
    monkeypatch.setattr(recording_csv, "TIME_STEPS_KEPT", 50)
    rec = assert_same_as_whole_file(monkeypatch, "j.csv", lines("time,v", *rows))
    assert rec.fs != FS and abs(rec.fs - FS) < 1
    rows[4321] = f"{times[4321] + 0.0005},0.1"
    monkeypatch.setattr(recording_csv, "TIME_STEPS_KEPT", 50)
    message = assert_same_as_whole_file(monkeypatch, "j.csv", lines("time,v", *rows))
    assert message.endswith("(irregular step at data row 4322)")  # as it was: step 4320 + 2


def test_more_rows_than_counted_lines_still_parse(monkeypatch):
    rows = [f"{v:.4f}" for v in lead()]
    monkeypatch.setattr(recording_csv._CsvSource, "line_count", lambda self: 10)
    monkeypatch.setattr(recording_csv, "CSV_BLOCK_CELLS", 333)
    rec = parse_upload([("a.csv", lines(*rows))], fs=FS)
    np.testing.assert_array_equal(rec.signal, np.array(rows, dtype=np.float64).astype(np.float32))


def test_csv_parse_memory_is_bounded_by_the_signal(monkeypatch):
    """Ten minutes of time and two leads (about 5 MB of text), a few missing cells: the heap
    peak stays under 3 times the float32 signal (reading the whole text took about 9 times the
    file, 25 times the signal)."""
    x = long_ecg(FS, 600.0)
    rows = [f"{i / FS:.6f},{v:.3f},{-v:.3f}" for i, v in enumerate(x.tolist())]
    rows[1000] = f"{1000 / FS:.6f},,"
    content = lines("time,MLII,V1", *rows)
    monkeypatch.setattr(recording_csv, "CSV_BLOCK_CELLS", 1 << 13)
    parse_upload([("warm-up.csv", lines("time,MLII,V1", *rows[:4000]))])  # pandas' first use
    peak, recording = heap_peak(lambda: parse_upload([("m.csv", content)]))
    assert recording.n_samples == len(rows) and len(content) > 4_000_000
    assert peak < 3 * recording.signals.nbytes


# -- EDF -----------------------------------------------------------------------------------------


def test_edf_written_by_wfdb_equals_read_edf(tmp_path, monkeypatch):
    from wfdb.io.convert.edf import wfdb_to_edf

    x = np.stack([lead(), 0.5 * lead(seed=1)])
    write_wfdb(tmp_path, "rec9", x, FS, ["V1", "MLII"])
    with contextlib.redirect_stdout(io.StringIO()):
        wfdb_to_edf(str(tmp_path / "rec9"), output_filename=str(tmp_path / "rec9.edf"))
    content = (tmp_path / "rec9.edf").read_bytes()
    rec = assert_same_as_whole_file(monkeypatch, "rec9.edf", content)
    assert rec.lead == "MLII" and rec.fs == FS


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"units": "uV", "physical": (-4000.0, 6000.0), "record_s": 0.5},
        {"annotation_signal": True, "physical": (-3.3, 2.7)},
        {"units": "V", "physical": (-0.005, 0.005), "record_s": 2.0},
    ],
    ids=["mV", "uV-half-second-records", "annotations", "volts"],
)
def test_synthetic_edf_equals_read_edf(monkeypatch, options):
    x = np.stack([lead(), -lead(seed=1), 0.3 * lead(seed=2)])
    scale = {"uV": 1000.0, "V": 1e-3}.get(options.get("units", "mV"), 1.0)
    content = edf_bytes(x * scale, 360, ["MLII", "V1", "V5"], **options)
    rec = assert_same_as_whole_file(monkeypatch, "s.edf", content)
    assert rec.lead_names == ["MLII", "V1", "V5"] and rec.fs == FS
    np.testing.assert_allclose(rec.signals, x[:, : rec.n_samples], atol=0.01)


def test_broken_edf_files_are_refused_by_both(monkeypatch):
    """Refused alike; where numpy explained ``read_edf``'s failure, the parser now says it."""
    content = edf_bytes(np.stack([lead(), lead(seed=1)]), 360, ["MLII", "V1"])
    for broken in (content[:-3], content + b"\0" * 1440, b"0       " + b"x" * 300,
                   content[:1000], content[:512]):  # fmt: skip
        expected = whole_file_outcome(monkeypatch, "x.edf", broken)
        got = outcome([("x.edf", broken)])
        assert got.startswith("x.edf: unreadable EDF file (")
        assert expected.startswith("x.edf: unreadable EDF file (")
    volts = content.replace(b"mV      ", b"degC    ", 1)
    assert "signal unit 'degC' is not a voltage" in assert_same_as_whole_file(
        monkeypatch, "x.edf", volts
    )


def test_edf_with_two_rates_is_refused_without_reading_the_samples():
    content = bytearray(edf_bytes(np.stack([lead(), lead(seed=1)]), 360, ["MLII", "V1"]))
    per_record = 256 + 216 * 2 + 8  # the second signal's "samples per record" field
    content[per_record : per_record + 8] = b"720     "
    content += bytes(2 * 360 * 12)  # 12 records of 360 + 720 samples
    with pytest.raises(RecordingFormatError, match="different sampling rates"):
        parse_upload([("rates.edf", bytes(content))])


def test_edf_parse_memory_is_the_signal_and_a_block():
    x = np.stack([long_ecg(FS, 2400.0), long_ecg(FS, 2400.0, seed=1)])
    content = edf_bytes(x, 360, ["MLII", "V1"])
    parse_upload([("warm-up.edf", edf_bytes(x[:, : 3600 * 12], 360, ["MLII", "V1"]))])
    del x
    peak, recording = heap_peak(lambda: parse_upload([("big.edf", content)]))
    assert peak < 1.5 * recording.signals.nbytes  # read_edf: about 4.5 times


# -- bridging ----------------------------------------------------------------------------------


def test_bridging_equals_interpolating_over_every_valid_sample():
    rng = np.random.default_rng(1)
    for trial in range(20):
        x = (rng.standard_normal(3000).cumsum() * 0.1).astype(np.float32)
        for start in rng.integers(0, 3000, 12):
            x[start : start + rng.integers(1, 40)] = np.nan
        if trial % 2:
            x[: rng.integers(1, 30)] = np.nan  # runs at both ends: held at the nearest value
            x[-int(rng.integers(1, 30)) :] = np.nan
        missing = ~np.isfinite(x)
        index = np.arange(x.size)
        expected = np.interp(index, index[~missing], x[~missing]).astype(np.float32)
        filled, runs = bridge_short_gaps(x, FS, where="x")
        np.testing.assert_array_equal(filled, expected)
        starts = np.diff(missing.astype(int), prepend=0) == 1
        assert filled.dtype == np.float32 and runs == np.count_nonzero(starts)
