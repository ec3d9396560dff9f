"""Training and evaluation programs: NLU models, calibration, reports on labelled data."""
