"""Beats and what describes them: windows, RR and record-context features, rhythm summary."""
