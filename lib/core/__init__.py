"""Shared plumbing: paths, seeding, run bookkeeping (metrics files) and the pretrained-model registry."""
from lib.core.paths import data_dir, models_dir, project_root, real_data_dir, reports_dir
from lib.core.run import RunContext, start_run
from lib.core.seed import seed_everything

__all__ = [
    "RunContext",
    "data_dir",
    "models_dir",
    "project_root",
    "real_data_dir",
    "reports_dir",
    "seed_everything",
    "start_run",
]
