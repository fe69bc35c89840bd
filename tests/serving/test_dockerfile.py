"""The Dockerfile builds what the service needs (static checks: no Docker engine here)."""
from __future__ import annotations

import re

from tests.conftest import ROOT

DOCKER = ROOT / "deploy" / "docker"


def _pins(path):
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_copied_sources_exist_and_the_command_is_the_documented_one():
    text = (DOCKER / "Dockerfile").read_text()
    for src in re.findall(r"^COPY (.+) \S+$", text, flags=re.M):
        for item in src.split():
            if not item.startswith("models/"):  # the model is produced by notebook 02 before the build
                assert (ROOT / item).exists(), f"Dockerfile copies {item}, which does not exist"
    assert '"-m", "lib.serving"' in text and '"--host", "0.0.0.0"' in text and "EXPOSE 8000" in text
    assert "USER " in text and "HEALTHCHECK" in text


def test_serving_requirements_are_pinned_like_the_project():
    serve, project = _pins(DOCKER / "requirements-serve.txt"), _pins(ROOT / "requirements.txt")
    lines = [l for l in (DOCKER / "requirements-serve.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert all("==" in l for l in lines), "every serving requirement must be pinned"
    for name in ("fastapi", "uvicorn", "scikit-learn", "spacy", "numpy", "pandas", "py3langid"):
        assert serve[name] == project[name], f"{name}: {serve[name]} in the image, {project[name]} in the project"
    assert "torch" not in serve  # the served pipeline does not need it
