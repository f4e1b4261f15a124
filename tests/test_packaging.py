"""The wheel carries what the package reads at run time: prompts and data files, found from any folder."""

import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT

CHECK = """
import sys
from importlib import resources
import rag.prompts as p
assert p.__file__.startswith(sys.argv[1]), p.__file__
for name in sys.argv[2:]:
    assert p.load_prompt(name).template, name
data = resources.files("rag") / "data"
for f in ("answer_model.json", "choice.yaml", "injection.yaml", "query.yaml", "quiz.yaml", "userdict.txt"):
    assert (data / f).read_text(encoding="utf-8"), f
print("ok")
"""


@pytest.mark.slow
def test_wheel_ships_prompts_and_data_and_loads_them_outside_the_project(tmp_path):
    src = tmp_path / "src-copy"  # build from a copy: the build writes build/ and *.egg-info
    src.mkdir()
    for name in ("src", "prompts"):
        shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "-w", str(tmp_path / "dist"), "--no-deps", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "dist").glob("rag-*.whl")
    prompts = sorted(p.stem for p in (ROOT / "prompts").glob("*.yaml"))
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.startswith("rag/data/prompts/")) == [f"rag/data/prompts/{p}.yaml" for p in prompts]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run(
        [sys.executable, "-c", CHECK, str(site), *prompts],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert r.stdout.strip() == "ok", r.stdout + r.stderr
