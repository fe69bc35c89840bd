"""Study 1: e-mail triage for a university inbox (data, preprocessing, baselines, servable pipeline)."""
