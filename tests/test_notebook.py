"""The example notebook runs top to bottom in this venv's Python, and the HTML tables of the
results show the numbers of their attributes (parsed back with html.parser)."""
import json
import os
import sys
import time
from html.parser import HTMLParser

import numpy as np
import pytest

from otreg.data.toys import make_toy
from otreg.nn import fit
from otreg.transport import hkr_transport
from otreg.verify import verify

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                        "examples", "verify_your_network.ipynb")


class Cells(HTMLParser):
    """The text of every <td>/<th> cell, row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def table_of(html):
    parser = Cells()
    parser.feed(html)
    return {row[0]: row[1:] for row in parser.rows if row}


def shown(value, cell):
    """A cell shows ``value``: numbers to 6 significant digits, text as is."""
    if isinstance(value, (float, int, np.floating)) and not isinstance(value, bool):
        return float(cell) == pytest.approx(float(value), rel=1e-5, abs=1e-300)
    return cell == str(value)


@pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")
def test_html_of_an_exact_result_and_a_training():
    xp, xn = make_toy("moons", 20, seed=0)
    res = hkr_transport(xp, xn, lam=1.0, margin=0.1)
    rows = table_of(res._repr_html_())
    assert shown(res.loss, rows["loss (min L)"][0]) and shown(res.mass, rows["mass moved"][0])
    for name, value in res.html_rows():
        assert shown(value, rows[name][0]), name
    tr = fit(xp, xn, lam=1.0, margin=0.1, steps=5, width=4, depth=1, seed=0,
             progress=False)
    rows = table_of(tr._repr_html_())
    assert shown(tr.loss, rows["loss (full data)"][0]) and shown(tr.steps_run, rows["steps run"][0])
    assert all(shown(v, rows[k][0]) for k, v in tr.html_rows())


def test_html_of_a_report_escapes_and_shows_the_numbers():
    xp, xn = make_toy("moons", 20, seed=0)
    f = lambda x: 1.5 * (x[:, 0] - 0.5)
    f.__name__ = "<steep & linear>"
    rep = verify(xp, xn, 1.0, 0.1, potential=f, n_test_points=10, w1_lams=(0.1,))
    html = rep._repr_html_()
    assert "<steep" not in html and "&lt;steep &amp; linear&gt;" in html
    rows = table_of(html)
    s = rep.potential
    assert rows["potential"][0] == "<steep & linear>"
    assert shown(s.constant, rows["Lipschitz constant L (measured lower bound)"][0])
    assert s.constant == pytest.approx(1.5, rel=1e-6)
    assert shown(s.gap, rows["gap (L - L*)/(|L*| + 2m)"][0])
    assert shown(s.gap_rel, rows["gap (L - L*)/|L*|"][0])
    assert rows["1-Lipschitz (L <= 1 + tol)"][0] == "False"
    for c in rep.checks:
        status, value, tol, marks, _ = rows[c.name]
        assert status == c.status and marks == ", ".join(c.marks)
        assert (value == "nan") if np.isnan(c.value) else shown(c.value, value)
    assert rows["certificate"][0] == "PASS"                # the exact part alone ...
    assert rows["  - network"][0] == "n/a"                 # ... the steep network n/a


@pytest.mark.slow
def test_the_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    """Executed in a kernel of this venv's Python (a kernel spec written for the test, so that
    a fresh clone needs no registration); its pictures go to a temporary folder."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    import nbformat
    from nbclient import NotebookClient
    spec = tmp_path / "jupyter" / "kernels" / "otreg-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "otreg venv", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("OTREG_NOTEBOOK_IMG", str(tmp_path / "img"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, kernel_name="otreg-venv", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - t0
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("hKR exact solution" in h for h in html)
    assert sum("measured lower bound" in h for h in html) >= 2
    text = "".join(o.get("text", "") for o in outputs)
    assert "measured L >= 2.0" in text or "measured L >= 1.99" in text    # the 2-Lipschitz one
    assert (tmp_path / "img" / "notebook_half_centres.png").stat().st_size > 1000
    assert any("image/png" in o.get("data", {}) for o in outputs)
    print(f"notebook ran in {seconds:.1f} s")
