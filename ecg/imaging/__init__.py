"""2-D representations of beat windows (beat images, spectrograms); image files as model input;
digitising ECG images drawn elsewhere (``digitise``), refusing non-ECG images (``ecg_check``) and
recognising the app's own spectrogram format (``own_format``)."""
