"""The documentation's example scripts (docs/examples/*.py) run and print what they claim."""
import glob
import os
import runpy
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                        "examples")
SCRIPTS = sorted(glob.glob(os.path.join(EXAMPLES, "*.py")))


def test_examples_exist():
    names = {os.path.basename(s) for s in SCRIPTS}
    assert {"solve.py", "train.py", "verify.py", "sweep.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, str(tmp_path / "out")])
    runpy.run_path(script, run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip()
    name = os.path.basename(script)
    if name == "solve.py":
        assert "-min L(lam=0)" in out and "W1 (ot.emd2)" in out
    elif name == "verify.py":
        assert "failed checks: none" in out
    elif name == "sweep.py":
        assert "| moons | 0.1 | 10 | 2 |" in out
        assert os.path.exists(tmp_path / "out" / "sweep.png")
