"""Signal processing shared by training and serving: resampling, band-pass, QRS detection,
signal quality per segment."""
