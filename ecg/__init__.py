"""ecg: the framework-free ECG library under the web app (no Django anywhere in it).

Layers, each importing only those before it::

    classes            the six classes and the MIT-BIH symbol table
    io                 WFDB records, uploaded recordings (WFDB / ZIP / CSV / EDF), image folders
    dsp                resampling, band-pass, QRS detection
    features           beat windows, RR and record-context features, rhythm summary
    imaging            beat images and spectrograms (the 2-D representations), image files,
                       digitising foreign ECG images, the not-an-ECG and own-format checks
    models             architectures, the model bundle, the model registry, LiteRT, Grad-CAM
    recording_analysis a whole recording: detect, classify, summarise
    lead_choice        which lead an upload is analysed on and which leads are stored
    training           data sets, training, evaluation, reports (the only layer that needs
                       TensorFlow at import time is the one that builds networks)

The flat public API below is what the apps and scripts use. Every function that touches a
signal takes its sampling rate explicitly, as wfdb and NeuroKit2 do. Names are imported lazily
(PEP 562) so that ``import ecg`` costs nothing and never pulls in TensorFlow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC: dict[str, str] = {
    # classes
    "class_codes": "ecg.classes",
    "class_names": "ecg.classes",
    "class_info": "ecg.classes",
    "class_display_name": "ecg.classes",
    "review_labels": "ecg.classes",
    # io
    "load_record": "ecg.io.records",
    "list_records": "ecg.io.records",
    "RecordError": "ecg.io.records",
    "load_ptbxl_table": "ecg.io.ptbxl",
    "load_ptbxl_record": "ecg.io.ptbxl",
    "download_ptbxl": "ecg.io.ptbxl",
    "load_ludb_record": "ecg.io.ludb",
    "parse_upload": "ecg.io.recording_io",
    "ParsedRecording": "ecg.io.recording_base",
    "RecordingFormatError": "ecg.io.recording_base",
    # dsp
    "MODEL_FS": "ecg.dsp.signal",
    "bandpass": "ecg.dsp.signal",
    "resample": "ecg.dsp.signal",
    "prepare_signal": "ecg.dsp.signal",
    "detect_beats": "ecg.dsp.detection",
    "signal_quality": "ecg.dsp.quality",
    # features
    "extract_windows": "ecg.features.beats",
    "rr_features": "ecg.features.beats",
    "summarise": "ecg.features.rhythm",
    "group_beats": "ecg.features.templates",
    "reclassify": "ecg.features.corrections",
    # imaging
    "beat_image": "ecg.imaging.representations",
    "spectrogram": "ecg.imaging.representations",
    "render": "ecg.imaging.representations",
    "load_image_for_model": "ecg.imaging.images",
    "digitise": "ecg.imaging.digitise",
    "Digitised": "ecg.imaging.digitise",
    "DigitiseError": "ecg.imaging.digitise",
    "check_ecg_image": "ecg.imaging.ecg_check",
    "check_spectrogram_format": "ecg.imaging.own_format",
    "check_beat_image_format": "ecg.imaging.own_format",
    # models
    "ModelBundle": "ecg.models.bundle",
    "load_bundle": "ecg.models.bundle",
    "load_serving_bundle": "ecg.models.lite_runtime",
    "ModelRegistry": "ecg.models.registry",
    # whole recordings
    "analyse": "ecg.recording_analysis",
    "stored_lead_order": "ecg.lead_choice",
    "with_readable_lead": "ecg.lead_choice",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ecg' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return __all__
