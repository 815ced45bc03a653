"""2-D representations of beat windows (beat images, spectrograms); image files as model input."""
