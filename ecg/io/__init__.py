"""Reading ECG data: WFDB records on disk, uploaded recordings (WFDB, ZIP, CSV, EDF), image
folders."""
