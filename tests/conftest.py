"""Fixtures and helpers shared by the test files."""
import warnings

import numpy as np
import pytest

from otreg.cli import main
from otreg.data.toys import make_toy
from otreg.nn import TrainingBudgetWarning, fit, save_model


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def barely_trained_model(tmp_path_factory):
    """The path of a saved 2-D network trained for one epoch on 12 + 12 two-moons points
    (seed 0): 1-Lipschitz but far from the optimum, so that the checks of a network fail on
    it, and cheap to make once for every test file that needs a model file."""
    xp, xn = make_toy("moons", 12, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingBudgetWarning)  # one epoch, on purpose
        model = fit(xp, xn, epochs=1, width=8, depth=1, progress=False).model
    path = tmp_path_factory.mktemp("model") / "barely_trained.npz"
    save_model(model, path)
    return str(path)


@pytest.fixture
def cli(capsys):
    """Run ``otreg ARGS...`` in this process: returns (exit status, stdout, stderr); argparse's
    usage errors count as exit status 2 as on the command line, and no output may hold a
    traceback."""
    def run(argv):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse: usage error, one line + usage
            rc = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "Traceback" not in out, err
        return rc, out, err
    return run
