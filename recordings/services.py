"""Writes for recordings: store an upload, run its analysis, record failure, delete.

All-or-nothing rules:

* an upload is parsed and checked completely before anything is stored; then the row and its
  signal file are written together (a failed row write removes the file again);
* an analysis writes its beats, its results file and the "done" state in one transaction; if
  anything fails, nothing of it stays and the recording shows "failed" with the reason.

Long on purpose: every write of a recording under one set of all-or-nothing rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ecg.dsp.detection import DetectionError
from ecg.io.recording_io import (
    Limits,
    ParsedRecording,
    RecordingFormatError,
    parse_upload,
    size_refusal,
)
from ecg.lead_choice import stored_lead_order, unreadable_lead_message, with_readable_lead
from ecg.recording_analysis import NoReadableSignal, analyse
from ecgsite.model_registry import RecordingModelMissing, get_model_registry

from .errors import RecordingModelUnavailable
from .models import Beat, Recording, ReviewAction, TemplateGrouping, recording_folder

logger = logging.getLogger(__name__)

UNITS = ("mV", "uV", "V")
PROGRESS_INTERVAL_S = 0.5  # write progress to the database at most twice a second
COPY_CHUNK_BYTES = 4 * 1024 * 1024  # remote signal files are copied to local disk 4 MB at a time


def sentence(message: str) -> str:
    """A parser's message ("the files total ...") as a sentence for the page."""
    return message[:1].upper() + message[1:] + "."


def upload_limits() -> Limits:
    return Limits(
        max_bytes=settings.RECORDING_MAX_BYTES,
        max_duration_s=settings.RECORDING_MAX_HOURS * 3600.0,
    )


def recording_create(
    *,
    owner,
    files: Sequence,
    sampling_rate: float | None = None,
    units: str = "mV",
    lead: str = "",
    trace_height_mv: float | None = None,
    patient_reference: str = "",
    note: str = "",
) -> Recording:
    """Check and store an uploaded recording, then queue its analysis.

    Raises ``ValidationError`` (nothing stored) for a bad upload and ``RecordingModelMissing``
    when no recording model is installed.
    """
    if units not in UNITS:
        raise ValidationError(f"units must be one of {', '.join(UNITS)}")
    if get_model_registry().recording_model_path() is None:
        raise RecordingModelUnavailable()
    limits = upload_limits()
    total = sum(int(getattr(f, "size", 0) or 0) for f in files)
    if total > limits.max_bytes:  # refuse before reading anything into memory
        raise ValidationError(sentence(size_refusal(total, limits.max_bytes)))
    parsed = _parse(
        files,
        fs=sampling_rate,
        lead=lead or None,
        units=units,
        trace_height_mv=trace_height_mv,
        limits=limits,
    )
    if not lead:  # a lead the user named is analysed even when unreadable (the page says so)
        parsed = with_readable_lead(parsed)
    recording = _store(owner, parsed, patient_reference=patient_reference, note=note)
    transaction.on_commit(lambda: recording_enqueue_analysis(recording=recording))
    return recording


def _parse(files: Sequence, *, limits: Limits, **options) -> ParsedRecording:
    """Parse the uploaded files; the bytes read are let go on return, before the store."""
    named = [(getattr(f, "name", "") or "upload", _read(f)) for f in files]
    try:
        return parse_upload(named, limits=limits, **options)
    except RecordingFormatError as exc:
        raise ValidationError(str(exc)) from exc


def _read(uploaded) -> bytes:
    if hasattr(uploaded, "seek"):
        uploaded.seek(0)
    return uploaded.read()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _save_signals(name: str, parsed: ParsedRecording, order: list[int]) -> str:
    """Store the channels ``order`` (``stored_lead_order``: the analysed lead first, every lead
    of a recording the conduction finding reads on all leads) as one float32 ``.npy``.

    Written lead by lead into a temporary file and handed to the storage as a file: building
    the array and its bytes in memory takes four copies of the signal (1 GB for 24 hours).
    """
    with tempfile.TemporaryDirectory(prefix="ecg-signals-") as folder:
        path = Path(folder) / "signals.npy"
        array = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float32, shape=(len(order), parsed.n_samples)
        )
        for row, channel in enumerate(order):
            array[row] = parsed.signals[channel]
        array.flush()
        del array
        with open(path, "rb") as handle:
            return default_storage.save(name, File(handle))


def _store(owner, parsed: ParsedRecording, *, patient_reference: str, note: str) -> Recording:
    folder = recording_folder()
    saved: list[str] = []
    try:
        order = stored_lead_order(parsed.lead_names, parsed.lead_index, parsed.duration_s)
        signal_name = _save_signals(f"{folder}/signals.npy", parsed, order)
        saved.append(signal_name)
        reference_name = ""
        if parsed.has_reference:
            buffer = io.BytesIO()
            np.savez(
                buffer,
                samples=parsed.ann_samples.astype(np.int64),
                symbols=np.asarray(parsed.ann_symbols, dtype="<U2"),
            )
            reference_name = default_storage.save(
                f"{folder}/reference.npz", ContentFile(buffer.getvalue())
            )
            saved.append(reference_name)
        with transaction.atomic():
            recording = Recording.objects.create(
                owner=owner,
                name=parsed.name[:100],
                original_names=parsed.source_files,
                file_format=parsed.format,
                sampling_rate=parsed.fs,
                n_samples=parsed.n_samples,
                duration_s=parsed.duration_s,
                lead=parsed.lead[:32],
                lead_names=parsed.lead_names,
                stored_leads=[parsed.lead_names[i] for i in order],
                has_reference=parsed.has_reference,
                patient_reference=patient_reference.strip(),
                note=note.strip(),
                signal_file=signal_name,
                reference_file=reference_name,
                notes=parsed.notes,
            )
    except Exception:
        for name in saved:
            with contextlib.suppress(OSError):  # a read-only disk must not mask the first error
                default_storage.delete(name)
        raise
    return recording


def recording_enqueue_analysis(*, recording: Recording) -> None:
    """Hand the analysis to the task queue (or run it now when RECORDING_TASKS_SYNC is set)."""
    from django_q.tasks import async_task

    try:
        task_id = async_task(
            "recordings.tasks.recording_analyse_task",
            recording.pk,
            task_name=f"recording-{recording.pk}",
            group="recordings",
            hook="recordings.tasks.recording_task_hook",
            sync=settings.RECORDING_TASKS_SYNC,
        )
    except Exception as exc:  # the broker (database) is unreachable: say so on the page
        logger.exception("could not queue recording %s", recording.pk)
        recording_mark_failed(recording_id=recording.pk, reason=f"could not be queued ({exc})")
        return
    Recording.objects.filter(pk=recording.pk, task_id="").update(task_id=str(task_id)[:64])


class _ProgressWriter:
    """Writes progress to the row, throttled, so the page's progress bar moves."""

    def __init__(self, recording_id: int):
        self.recording_id = recording_id
        self.last_write = time.monotonic()

    def __call__(self, fraction: float, message: str) -> None:
        # Each write is a commit (an fsync on SQLite): throttle by time, not by step.
        now = time.monotonic()
        if now - self.last_write < PROGRESS_INTERVAL_S:
            return
        self.last_write = now
        try:
            # Each write renews the lease too: proof that this worker is alive.
            Recording.objects.filter(pk=self.recording_id, status=Recording.Status.RUNNING).update(
                progress=round(fraction * 0.95, 3),
                progress_message=message[:100],
                lease_until=_lease_end(),
            )
        except DatabaseError:
            # A locked database (SQLite under a long write) must not fail the analysis: skip
            # this update; the next one comes half a second later.
            logger.warning("progress of recording %s not written", self.recording_id, exc_info=True)


@contextmanager
def mapped_signals(recording: Recording) -> Iterator[np.ndarray]:
    """(leads, samples) float32 mV, the analysed lead first, mapped from a local file so a reader
    touches only the pages it uses (a strip of a 24-hour recording, one beat's hour). With remote
    storage (S3 ...), which has no local path, the file is first streamed a chunk at a time into
    a temporary copy, removed on exit: never the whole signal in memory."""
    try:
        path = recording.signal_file.path
    except NotImplementedError:
        path = None
    if path:
        yield np.load(path, mmap_mode="r", allow_pickle=False)
        return
    with tempfile.NamedTemporaryFile(suffix=".npy") as copy:
        with recording.signal_file.open("rb") as handle:
            shutil.copyfileobj(handle, copy, COPY_CHUNK_BYTES)
        copy.flush()
        yield np.load(copy.name, mmap_mode="r", allow_pickle=False)


def load_reference(recording: Recording) -> tuple[np.ndarray, np.ndarray] | None:
    if not recording.reference_file:
        return None
    with recording.reference_file.open("rb") as handle:
        data = np.load(io.BytesIO(handle.read()), allow_pickle=False)
        return data["samples"], data["symbols"]


def recording_analyse(*, recording_id: int) -> str:
    """Run one recording's analysis (the task body). Returns the final status."""
    claimed = Recording.objects.filter(pk=recording_id, status=Recording.Status.QUEUED).update(
        status=Recording.Status.RUNNING,
        started_at=timezone.now(),
        lease_until=_lease_end(),
        attempts=F("attempts") + 1,
        progress=0.0,
        progress_message="starting",
    )
    if not claimed:
        return _fail_if_abandoned(recording_id)
    recording = Recording.objects.get(pk=recording_id)
    started = time.perf_counter()
    results_name = ""
    try:
        bundle = get_model_registry().serving_bundle(task="recording")
        with mapped_signals(recording) as signals:
            parsed = _parsed_from_storage(recording, signals)
            try:
                result = analyse(parsed, bundle, progress=_ProgressWriter(recording_id))
            except NoReadableSignal as exc:  # a lead the user named: say which others read
                hint = unreadable_lead_message(parsed, exc.reasons)
                if hint is None:
                    raise
                raise NoReadableSignal(hint, exc.reasons) from exc
        if len(result.beats) == 0:
            raise DetectionError("no heartbeat could be detected in this recording")
        results_name = default_storage.save(
            recording.signal_file.name.rsplit("/", 1)[0] + "/probabilities.npy",
            ContentFile(_npy_bytes(result.beats.probabilities.astype(np.float16))),
        )
        with transaction.atomic():
            _write_beats(recording, result)
            Recording.objects.filter(pk=recording_id).update(
                status=Recording.Status.DONE,
                lease_until=None,
                progress=1.0,
                progress_message="done",
                finished_at=timezone.now(),
                results_file=results_name,
                beat_count=len(result.beats),
                summary=result.summary
                | {
                    "detected_beats": result.detected_beats,
                    "seconds": _seconds(started),
                    "runtime": getattr(bundle, "runtime", "keras"),
                },
                review={},
                detection=result.detection.as_dict() if result.detection else None,
                agreement=result.agreement,
                quality=_quality_json(result),
                model_name=bundle.name,
                model_version=bundle.version,
                model_metadata=_drawing_metadata(bundle.metadata),
                error="",
            )
        return Recording.Status.DONE
    except Exception as exc:
        if results_name:
            default_storage.delete(results_name)
        known = (DetectionError, RecordingModelMissing, RecordingFormatError, ValueError)
        if isinstance(exc, known):
            reason = str(exc)
        else:
            logger.exception("analysis of recording %s failed", recording_id)
            reason = f"internal error during analysis ({type(exc).__name__}: {exc})"
        recording_mark_failed(recording_id=recording_id, reason=reason)
        return Recording.Status.FAILED


def _fail_if_abandoned(recording_id: int) -> str:
    """The broker hands a task out again when its worker did not acknowledge it in time (killed
    at the time limit, machine lost). The recording then still says "running": report it."""
    limit = dt.timedelta(seconds=settings.Q_CLUSTER.get("timeout") or 1800)
    stale = (
        Recording.objects.filter(
            pk=recording_id,
            status=Recording.Status.RUNNING,
            started_at__lt=timezone.now() - limit,
        )
        .exclude(lease_until__gt=timezone.now())  # a live lease: a (re-queued) run is working
        .exists()
    )
    if stale:
        recording_mark_failed(
            recording_id=recording_id,
            reason=(
                f"the analysis did not finish within {int(limit.total_seconds())} s "
                "(the worker was stopped or timed out)"
            ),
        )
        return Recording.Status.FAILED
    return "skipped"  # deleted, finished, or another worker has it right now


def _lease_end() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.RECORDING_LEASE_S)


def recordings_reclaim_abandoned(*, recording_id: int | None = None) -> int:
    """Running analyses whose lease expired lost their worker (killed, out of memory: django-q
    calls no hook then). Queue each once more; after RECORDING_MAX_ATTEMPTS, fail it with a
    message. ``recording_id`` limits the sweep to one recording. Returns how many were found."""
    now = timezone.now()
    expired = Recording.objects.filter(status=Recording.Status.RUNNING, lease_until__lt=now)
    if recording_id is not None:
        expired = expired.filter(pk=recording_id)
    found = list(expired.values_list("pk", "attempts"))
    for pk, attempts in found:
        if attempts >= settings.RECORDING_MAX_ATTEMPTS:
            logger.warning("recording %s: worker lost %d times, failing it", pk, attempts)
            recording_mark_failed(
                recording_id=pk,
                reason=(
                    f"the analysis worker stopped {attempts} times without finishing (killed or "
                    "out of memory); try again later or ask the site administrator"
                ),
            )
            continue
        # Only if it is still the same expired run: another process may have got here first.
        requeued = Recording.objects.filter(
            pk=pk, status=Recording.Status.RUNNING, lease_until__lt=now
        ).update(
            status=Recording.Status.QUEUED,
            lease_until=None,
            progress=0.0,
            progress_message="queued again: the worker stopped",
            task_id="",
        )
        if requeued:
            logger.warning("recording %s: worker lost, analysis queued again", pk)
            recording = Recording.objects.get(pk=pk)
            transaction.on_commit(lambda r=recording: recording_enqueue_analysis(recording=r))
    return len(found)


def _seconds(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def _parsed_from_storage(recording: Recording, signals: np.ndarray) -> ParsedRecording:
    """The stored recording as the analysis takes it; ``signals`` mapped, not read
    (``mapped_signals``): the analysis goes through the lead piece by piece."""
    reference = load_reference(recording)
    parsed = ParsedRecording(
        name=recording.name,
        format=recording.file_format,
        fs=recording.sampling_rate,
        lead_names=recording.stored_lead_names[: len(signals)],
        signals=signals,
        lead_index=0,
        source_files=list(recording.original_names),
    )
    if reference is not None:
        parsed.ann_samples, parsed.ann_symbols = reference
    return parsed


def _drawing_metadata(metadata: dict) -> dict:
    keys = ("classes", "label_set", "representation", "image_size", "sampling_rate", "window")
    return {k: metadata[k] for k in keys if k in metadata}


def _quality_json(result) -> dict:
    """The analysed lead's signal quality as stored with the recording (computed once)."""
    if result.quality is None:
        return {}
    return {
        "readable_share": round(result.quality.readable_share, 4),
        "segments": result.quality.as_rows(),
        "warnings": [w.as_dict() for w in result.warnings],
    }


# Beat rows go in with one parameterised INSERT run over all rows (``executemany``) instead of
# ``bulk_create``: building model instances and per-row SQL took a fifth of a 30-minute
# recording's analysis (0.26 s of 1.3 s for 2,263 beats; 24 h holds ~110,000 beats). Every column
# is listed, since the model's defaults are Python's, not the database's.
BEAT_COLUMNS = (
    "recording", "index", "sample", "time_s", "label", "confidence", "state", "runner_up",
    "state_reason", "reference_label", "reviewed_label", "reviewed_by", "suggested_label",
)  # fmt: skip
BEAT_INSERT_BATCH = 5000


def _beat_insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Beat._meta.get_field(name).column) for name in BEAT_COLUMNS)
    marks = ", ".join(["%s"] * len(BEAT_COLUMNS))
    return f"INSERT INTO {quote(Beat._meta.db_table)} ({columns}) VALUES ({marks})"


def _write_beats(recording: Recording, result) -> None:
    beats = result.beats
    n = len(beats)
    samples = beats.samples.tolist()
    labels = beats.labels.tolist()
    confidence = beats.confidence.tolist()
    fs = float(recording.sampling_rate)
    states = result.states if result.states is not None else [Beat.State.CLASSIFIED] * n
    runner_up = result.runner_up if result.runner_up is not None else [""] * n
    reasons = result.state_reasons if result.state_reasons is not None else [""] * n
    reference = result.reference_labels if result.reference_labels is not None else [""] * n
    rows = [
        (recording.pk, i, samples[i], round(samples[i] / fs, 4), str(labels[i]),
         round(confidence[i], 4), str(states[i]), str(runner_up[i]), str(reasons[i])[:255],
         str(reference[i]), "", None, "")
        for i in range(n)
    ]  # fmt: skip
    # New beats: the previous beats' corrections go with them (cascade), and so do the
    # grouping and the review made of them.
    Beat.objects.filter(recording=recording).delete()
    TemplateGrouping.objects.filter(recording=recording).delete()
    ReviewAction.objects.filter(recording=recording).delete()  # nothing left to undo
    sql = _beat_insert_sql()
    with connection.cursor() as cursor:
        for start in range(0, n, BEAT_INSERT_BATCH):
            cursor.executemany(sql, rows[start : start + BEAT_INSERT_BATCH])


def recording_mark_failed(*, recording_id: int, reason: str) -> None:
    """Failed state with its reason; no beat or result of a failed analysis stays."""
    with transaction.atomic():
        recording = Recording.objects.select_for_update().filter(pk=recording_id).first()
        if recording is None:
            return
        Beat.objects.filter(recording=recording).delete()  # their corrections too (cascade)
        TemplateGrouping.objects.filter(recording=recording).delete()
        ReviewAction.objects.filter(recording=recording).delete()
        stale = recording.results_file.name if recording.results_file else ""
        Recording.objects.filter(pk=recording_id).update(
            status=Recording.Status.FAILED,
            error=reason[:2000],
            finished_at=timezone.now(),
            results_file="",
            beat_count=0,
            summary={},
            review={},
            detection=None,
            agreement=None,
            quality={},
            progress_message="failed",
        )
    if stale:
        default_storage.delete(stale)


def recording_retry(*, recording: Recording, lead: str = "") -> Recording:
    """Queue a failed recording's analysis again (e.g. after a model was installed); with
    ``lead``, one of its other stored leads, on that lead (``_switch_lead``)."""
    if recording.status != Recording.Status.FAILED:
        raise ValidationError("Only a failed analysis can be run again.")
    if lead:
        _switch_lead(recording, lead)
    Recording.objects.filter(pk=recording.pk).update(
        status=Recording.Status.QUEUED,
        error="",
        progress=0.0,
        progress_message="",
        task_id="",
        attempts=0,
    )
    recording.refresh_from_db()
    transaction.on_commit(lambda: recording_enqueue_analysis(recording=recording))
    return recording


def _switch_lead(recording: Recording, lead: str) -> None:
    """Make ``lead`` (a stored lead) the analysed one: the signals file rewritten in its
    ``stored_lead_order`` (readers take row 0 as the analysed lead), the row updated, a note
    added; the old file deleted once committed. A failed analysis has no beats or reviews to
    keep consistent with the old lead."""
    names = recording.stored_lead_names
    if lead not in names[1:]:
        raise ValidationError(f"Lead {lead!r} is not another stored lead of this recording.")
    old_file = recording.signal_file.name
    with mapped_signals(recording) as signals:
        stored = ParsedRecording(
            name=recording.name,
            format=recording.file_format,
            fs=recording.sampling_rate,
            lead_names=names[: len(signals)],
            signals=signals,
            lead_index=names.index(lead),
            source_files=[],
        )
        order = stored_lead_order(stored.lead_names, stored.lead_index, recording.duration_s)
        new_file = _save_signals(old_file.rsplit("/", 1)[0] + "/signals.npy", stored, order)
    note = f"analysed on lead {lead} at the owner's request (lead {recording.lead} failed)"
    try:
        with transaction.atomic():
            Recording.objects.filter(pk=recording.pk).update(
                lead=lead[:32],
                stored_leads=[stored.lead_names[i] for i in order],
                signal_file=new_file,
                notes=[*(recording.notes or []), note],
            )
            transaction.on_commit(lambda: default_storage.delete(old_file))
    except Exception:
        default_storage.delete(new_file)
        raise


def recording_delete(*, recording: Recording) -> None:
    """Delete the row and its beats; its files follow once committed (``signals``)."""
    with transaction.atomic():
        recording.delete()
