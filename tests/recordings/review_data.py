"""A finished recording written straight to the database and the (private) media folder, for the
review tests and benchmark: no model is run. The lead is ``synth.long_ecg`` (every 7th beat
taller and wider); the "model" calls the wide beats V and the others N, except every 11th beat,
which it calls V too (a mistake to correct), and beat 3, which it is uncertain about."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ecg.features.rhythm import summarise
from recordings.models import Beat, Recording, recording_folder

from .synth import beat_times, long_ecg

CLASSES = ["L", "N", "A", "V", "R", "!"]
# How the beat images are drawn (exports redraw them): a greyscale beat picture, 64 pixels.
DRAWING = {
    "representation": {"kind": "beat_image", "params": {}},
    "image_size": 64,
    "sampling_rate": 360.0,
    "window": {"pre_s": 0.25, "post_s": 0.45},
}


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def done_recording(
    owner,
    *,
    duration_s: float = 60.0,
    fs: float = 360.0,
    signal: np.ndarray | None = None,
    peaks: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Recording:
    """The synthetic recording above; or, with ``signal``, ``peaks`` and ``labels`` (a real
    lead in mV, its beats and classes, for the benchmark), that one."""
    if signal is None:
        signal = long_ecg(fs, duration_s)
        peaks = np.round(beat_times(duration_s) * fs).astype(np.int64)
        n = len(peaks)
        wide = np.arange(n) % 7 == 6
        labels = np.where(wide | (np.arange(n) % 11 == 10), "V", "N")
    signal = np.asarray(signal, dtype=np.float32)
    duration_s = len(signal) / fs
    n = len(peaks)
    states = np.full(n, "classified", dtype=object)
    states[3] = "uncertain"
    probs = np.full((n, len(CLASSES)), 0.02, dtype=np.float32)
    probs[np.arange(n), [CLASSES.index(c) for c in labels]] = 0.9
    folder = recording_folder()
    signal_name = default_storage.save(f"{folder}/signals.npy", ContentFile(_npy(signal[None])))
    results_name = default_storage.save(
        f"{folder}/probabilities.npy", ContentFile(_npy(probs.astype(np.float16)))
    )
    summary = summarise(
        peaks=peaks, labels=labels.tolist(), fs=fs, duration_s=duration_s, classes=CLASSES,
        states=states.tolist(),
    )  # fmt: skip
    recording = Recording.objects.create(
        owner=owner, name="synthetic", file_format="wfdb", sampling_rate=fs,
        n_samples=len(signal), duration_s=duration_s, lead="MLII", lead_names=["MLII"],
        signal_file=signal_name, results_file=results_name, status=Recording.Status.DONE,
        progress=1.0, beat_count=n, summary=summary | {"detected_beats": n},
        model_name="synthetic", model_version="1", model_metadata=DRAWING | {"classes": CLASSES},
    )  # fmt: skip
    Beat.objects.bulk_create(
        [
            Beat(
                recording=recording,
                index=i,
                sample=int(p),
                time_s=round(p / fs, 4),
                label=str(labels[i]),
                confidence=0.9,
                state=str(states[i]),
                runner_up="N" if labels[i] == "V" else "V",
            )  # fmt: skip
            for i, p in enumerate(peaks)
        ],
        batch_size=2000,
    )
    return recording
