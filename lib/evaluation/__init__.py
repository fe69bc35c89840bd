"""Evaluation: metrics, calibration, reject option, plots."""
