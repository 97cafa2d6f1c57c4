"""Files are never lost: outputs are written atomically (a failed write keeps the previous file
and leaves no temporary file), no output may be an input (however the path is spelled), and
sweep tables edited by hand keep every row."""
from __future__ import annotations

import csv
import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from matplotlib.figure import Figure

import otreg.data.paths as paths
from otreg.data.io import save_dataset
from otreg.data.paths import atomic_file, atomic_write, outputs_apart_from_inputs, same_file
from otreg.data.toys import make_toy
from otreg.errors import InputError
from otreg.nn import load_model, save_model
from otreg.plot.figures import save_figure
from otreg.study import read_table, sweep

XP, XN = make_toy("moons", 15, seed=0)
OLD = b"the previous file, which must survive\n"


def _listing(d) -> list[str]:
    return sorted(os.listdir(d))


# ------------------------------------------------------------------------ atomic writes
def test_atomic_file_replaces_on_success_keeps_mode_and_links(tmp_path):
    p = tmp_path / "f.txt"
    p.write_bytes(OLD)
    os.chmod(p, 0o640)
    atomic_write(p, "new text é")
    assert p.read_text(encoding="utf-8") == "new text é"
    assert os.stat(p).st_mode & 0o777 == 0o640                # permissions kept
    assert _listing(tmp_path) == ["f.txt"]
    link = tmp_path / "link.txt"
    link.symlink_to(p)
    atomic_write(link, b"through the link")
    assert link.is_symlink() and p.read_bytes() == b"through the link"
    with pytest.raises(ValueError, match="mode"):
        with atomic_file(p, "a"):
            pass


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", "named temp"])
def test_exception_mid_write_keeps_the_old_file(tmpfile, tmp_path, monkeypatch):
    if not tmpfile:  # a file system without O_TMPFILE: the named temporary file is removed
        monkeypatch.delattr(paths.os, "O_TMPFILE", raising=False)
    p = tmp_path / "f.bin"
    p.write_bytes(OLD)
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with atomic_file(p) as fh:
                fh.write(b"half of the new cont")
                raise exc
        assert p.read_bytes() == OLD and _listing(tmp_path) == ["f.bin"]


def _disk_full(*args):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_every_writer_keeps_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch,
                                                               barely_trained_model):
    """The disk fills up when the data are flushed (fsync): each writer's previous file is
    byte-identical afterwards, and no temporary file remains."""
    model = load_model(barely_trained_model)
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    writers = {
        "model.npz": lambda p: save_model(model, p),
        "data.npz": lambda p: save_dataset(p, XP, XN),
        "data.csv": lambda p: save_dataset(p, XP, XN),
        "fig.png": lambda p: save_figure(fig, p),
    }
    for name in writers:
        (tmp_path / name).write_bytes(OLD)
    monkeypatch.setattr(paths.os, "fsync", _disk_full)
    for name, write in writers.items():
        with pytest.raises((OSError, InputError), match="No space left"):
            write(str(tmp_path / name))
        assert (tmp_path / name).read_bytes() == OLD, name
    assert _listing(tmp_path) == sorted(writers)
    monkeypatch.undo()
    for name, write in writers.items():  # and they do write when the disk has room
        write(str(tmp_path / name))
        assert (tmp_path / name).read_bytes() != OLD
    assert load_model(str(tmp_path / "model.npz")).in_dim == 2


@pytest.mark.parametrize("argv,out", [
    (["train", "--data", "moons", "--n", "10", "--steps", "5", "--no-progress", "--out"],
     "m.npz"),
    (["solve", "--data", "moons", "--n", "10", "--json"], "s.json"),
    (["sweep", "--data", "moons", "--lam", "1", "--n", "10", "--no-checks", "--workers", "1",
      "--quiet", "--out"], "t.csv"),
], ids=["train", "solve", "sweep"])
@pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")  # 5 steps, on purpose
def test_commands_keep_the_old_output_when_the_disk_is_full(argv, out, tmp_path, monkeypatch,
                                                            cli):
    p = tmp_path / out
    old = (b"data,n,lam,margin,seed,neural\n" if out.endswith(".csv") else OLD)
    p.write_bytes(old)
    monkeypatch.setattr(paths.os, "fsync", _disk_full)
    rc, _, err = cli(argv + [p])
    assert rc == 2 and "No space left" in err and err.count("\n") == 1
    assert p.read_bytes() == old
    assert _listing(tmp_path) == [out]


_SLOW_WRITER = """
import sys, time
from otreg.data.paths import atomic_file
with atomic_file(sys.argv[1]) as fh:
    for i in range(400):
        fh.write(b"x" * 10000)
        fh.flush()
        if i == 5:
            print("writing", flush=True)
        time.sleep(0.005)
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL", "RLIMIT_FSIZE"])
def test_a_killed_or_limited_write_keeps_the_old_file(how, tmp_path):
    p = tmp_path / "out.bin"
    p.write_bytes(OLD)

    def limit():  # a file-size limit below what the writer writes
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))

    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(p)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=limit if how == "RLIMIT_FSIZE" else None)
    try:
        if how != "RLIMIT_FSIZE":
            assert proc.stdout.readline() == "writing\n"
            proc.send_signal(getattr(signal, how))
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if how == "RLIMIT_FSIZE":
        assert proc.returncode == 1 and "File too large" in err
    else:
        assert proc.returncode == -getattr(signal, how)
    assert p.read_bytes() == OLD
    assert _listing(tmp_path) == ["out.bin"]


def test_the_cli_under_a_file_size_limit(tmp_path):
    """``otreg solve --json`` whose JSON exceeds ``ulimit -f``: one line, exit 2, the previous
    JSON intact."""
    p = tmp_path / "s.json"
    p.write_bytes(OLD)
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from otreg.cli import main; sys.exit(main())",
         "solve", "--data", "moons", "--n", "40", "--method", "pot", "--json", str(p)],
        capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000)))
    assert proc.returncode == 2, proc.stderr
    assert "json:" in proc.stderr and "File too large" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert p.read_bytes() == OLD and _listing(tmp_path) == ["s.json"]


# ----------------------------------------------------------------- outputs over inputs
def _spellings(tmp_path, name: str) -> dict:
    """Ways to name the file ``name`` of ``tmp_path`` again: the same string, ``./x``, a
    symbolic link, a hard link."""
    target = tmp_path / name
    (tmp_path / ("sym_" + name)).symlink_to(target)
    os.link(target, tmp_path / ("hard_" + name))
    return {"same": str(target), "dot": os.path.join(str(tmp_path), ".", name),
            "symlink": str(tmp_path / ("sym_" + name)),
            "hardlink": str(tmp_path / ("hard_" + name))}


def test_same_file():
    here = os.path.abspath(__file__)
    assert same_file(here, os.path.join(os.path.dirname(here), ".", os.path.basename(here)))
    assert not same_file(here, here + ".missing") and same_file("nope/a", "nope/./a")
    outputs_apart_from_inputs({"out": here + ".missing"}, {"data": here, "model": None})
    with pytest.raises(InputError, match=r"^out: .* is the input file of data"):
        outputs_apart_from_inputs({"out": here}, {"data": "moons", "data2": here})


CASES = {  # command -> (input files to make, argv with {in} for the input, the input's option)
    "train": (["d.npz"], ["train", "--data", "d.npz", "--out", "{out}"], "out", "data"),
    "solve": (["d.csv"], ["solve", "--data", "d.csv", "--json", "{out}"], "json", "data"),
    "predict points": (["p.csv", "m.npz"],
                       ["predict", "--model", "m.npz", "--points", "p.csv", "--json", "{out}"],
                       "json", "points"),
    "predict model": (["m.npz"], ["predict", "--model", "m.npz", "--points", "p.csv",
                                  "--json", "{out}"], "json", "model"),
    "verify json": (["d.npz"], ["verify", "--data", "d.npz", "--no-neural", "--json", "{out}"],
                    "json", "data"),
    "verify save-model": (["m.npz"], ["verify", "--data", "moons", "--model", "m.npz",
                                      "--save-model", "{out}"], "save-model", "model"),
    "sweep": (["d.csv"], ["sweep", "--data", "moons,d.csv", "--lam", "1", "--out", "{out}"],
              "out", "data (d.csv)"),
    "explore": (["d.npz"], ["explore", "--data", "d.npz", "--out", "{out}"], "out", "data"),
}
OUT_SUFFIX = {"explore": ".html"}


def _make_inputs(tmp_path, barely_trained_model):
    save_dataset(tmp_path / "d.npz", XP, XN)
    save_dataset(tmp_path / "d.csv", XP, XN)
    np.savetxt(tmp_path / "p.csv", XP, delimiter=",")
    with open(barely_trained_model, "rb") as src:
        (tmp_path / "m.npz").write_bytes(src.read())


@pytest.mark.parametrize("command", CASES)
def test_an_output_is_never_an_input(command, tmp_path, monkeypatch, cli,
                                     barely_trained_model):
    monkeypatch.chdir(tmp_path)
    _make_inputs(tmp_path, barely_trained_model)
    files, argv, out_opt, in_opt = CASES[command]
    target = files[0] if command != "predict model" else "m.npz"
    spellings = _spellings(tmp_path, target)
    if command == "explore":   # the output must end in .html: a link with that name
        spellings = {k: v for k, v in spellings.items() if k in ("symlink", "hardlink")}
        for k in spellings:
            os.rename(spellings[k], spellings[k] + ".html")
            spellings[k] += ".html"
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)
              if (tmp_path / f).is_file() and not (tmp_path / f).is_symlink()}
    for how, out in spellings.items():
        t0 = time.perf_counter()
        rc, _, err = cli([a.replace("{out}", out) for a in argv])
        assert rc == 2, (how, err)
        assert err.startswith(f"otreg {argv[0]}: error: {out_opt}: "), err
        assert f"is the input file of {in_opt}" in err and err.count("\n") == 1
        assert time.perf_counter() - t0 < 2.0      # refused before any work
    after = {f: (tmp_path / f).read_bytes() for f in before}
    assert after == before


def test_verify_plots_and_plot_out_never_replace_an_input(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    os.mkdir("figs")
    save_dataset(tmp_path / "figs" / "d.npz", XP, XN)
    save_dataset(tmp_path / "d.csv", XP, XN)
    os.link("figs/d.npz", "figs/plan.png")        # the data, also under a figure's name
    before = (tmp_path / "figs" / "d.npz").read_bytes()
    rc, _, err = cli(["verify", "--data", "figs/plan.png", "--no-neural", "--plots", "figs"])
    assert rc == 2 and "plots (plan.png):" in err and "input file of data" in err
    sweep(["moons"], [1.0], [0.1], [0], n=10, checks=False, workers=1, progress=False,
          out=tmp_path / "t.csv", runner=lambda c: {"loss": 0.0})
    table = (tmp_path / "t.csv").read_bytes()
    os.symlink("t.csv", "t.png")
    with pytest.raises(InputError, match=r"^out: .* is the input file of datasets \(d.csv\)"):
        sweep(["moons", "d.csv"], [1.0], [0.1], [0], out="./d.csv", runner=lambda c: {})
    rc, _, err = cli(["plot", "sweep", "t.csv", "--out", "./t.png"])
    assert rc == 2 and "out: './t.png' is the input file of table" in err
    assert (tmp_path / "t.csv").read_bytes() == table
    assert (tmp_path / "figs" / "d.npz").read_bytes() == before


# ------------------------------------------------------------------ tolerant sweep tables
GRID = dict(datasets=["moons"], lams=[0.0, 1.0], margins=[0.1], seeds=[0], n=10,
            checks=False, workers=1, progress=False)


def _fake(cfg):
    return {"loss": -float(cfg.lam), "acc_clean": 1.0}


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_table_without_its_final_newline_keeps_its_last_row(tmp_path):
    out = tmp_path / "t.csv"
    sweep(**GRID, out=out, runner=_fake)
    out.write_text(out.read_text().rstrip("\n"))              # an editor stripped it
    ran = []

    def counting(cfg):
        ran.append(cfg.lam)
        return _fake(cfg)

    rows = sweep(**dict(GRID, lams=[0.0, 1.0, 2.0]), out=out, runner=counting)
    assert ran == [2.0]                                       # the last row counted as done
    assert [r["lam"] for r in rows] == [0.0, 1.0, 2.0]
    assert [float(r["lam"]) for r in _csv_rows(out)] == [0.0, 1.0, 2.0]
    assert out.read_text().endswith("\n")


def test_a_cut_line_is_dropped_but_a_short_complete_row_is_not(tmp_path):
    out = tmp_path / "t.csv"
    sweep(**GRID, out=out, runner=_fake)
    text = out.read_text()
    out.write_text(text + "moons,10,2.0,0.")                    # killed while writing a row
    assert len(read_table(out)) == 2
    rows = sweep(**dict(GRID, lams=[0.0, 1.0, 2.0]), out=out, runner=_fake)
    assert len(rows) == 3 and len(_csv_rows(out)) == 3


def test_columns_added_by_hand_are_kept(tmp_path):
    out = tmp_path / "t.csv"
    sweep(**GRID, out=out, runner=_fake)
    lines = out.read_text().splitlines()
    # a column "note" in the header, filled on the first row only, and a cell beyond the
    # header on the second row
    lines = [lines[0] + ",note", lines[1] + ",checked by hand", lines[2] + ",,extra cell"]
    out.write_text("\n".join(lines) + "\n")
    ran = []
    rows = sweep(**dict(GRID, lams=[0.0, 1.0, 2.0]), out=out,
                 runner=lambda c: ran.append(c.lam) or _fake(c))
    assert ran == [2.0] and len(rows) == 3
    on_disk = _csv_rows(out)
    assert [float(r["lam"]) for r in on_disk] == [0.0, 1.0, 2.0]
    assert [r["note"] for r in on_disk] == ["checked by hand", "", ""]
    assert [r["column_" + str(len(lines[0].split(",")) + 1)] for r in on_disk] == \
        ["", "extra cell", ""]
    assert read_table(out)[0]["note"] == "checked by hand"


def test_rows_that_are_not_combinations_stay_on_disk(tmp_path):
    out = tmp_path / "t.csv"
    sweep(**GRID, out=out, runner=_fake)
    header = out.read_text().splitlines()[0]
    odd = "moons,ten,1.0,0.1,0,False" + "," * (header.count(",") - 5)
    with open(out, "a") as fh:
        fh.write(odd + "\n")
    assert len(read_table(out)) == 2                          # not counted ...
    sweep(**dict(GRID, lams=[0.0, 1.0, 2.0]), out=out, runner=_fake)
    assert odd in out.read_text().splitlines()                # ... and not lost
    assert len(read_table(out)) == 3


def test_a_million_seeds_are_refused_at_once_and_a_large_grid_starts_quickly(cli, tmp_path):
    """De-duplicating the grid is linear, and a grid too large to finish is refused with an
    estimate before anything is built."""
    from otreg.study import make_configs

    t0 = time.process_time()
    configs = make_configs(["moons"], [1.0, 1.0], [0.1], list(range(20_000)) * 3, n=10)
    assert len(configs) == 20_000 and configs[-1].seed == 19_999
    assert time.process_time() - t0 < 3
    rc, _, err = cli(["sweep", "--data", "moons", "--lam", "1", "--seeds", "0-1000000",
                      "--out", tmp_path / "t.csv"])
    assert rc == 2 and err.startswith("otreg sweep: error: seeds: the grid has 1,000,001 ")
    assert "hours" in err and not (tmp_path / "t.csv").exists()
    assert time.process_time() - t0 < 6


# ------------------------------------------------------------------------- budgets
def test_a_network_that_cannot_fit_is_refused_before_it_starts(cli, tmp_path):
    t0 = time.perf_counter()
    rc, _, err = cli(["train", "--data", "moons", "--n", "20", "--depth", "100000",
                      "--width", "4096", "--out", tmp_path / "m.npz"])
    assert rc == 2 and "depth=100000" in err and "GiB of memory" in err and "available" in err
    rc, _, err = cli(["train", "--data", "moons", "--n", "20", "--width", "64",
                      "--steps", "10000000000000", "--out", tmp_path / "m.npz"])
    assert rc == 2 and "steps=10000000000000" in err and "days" in err
    assert time.perf_counter() - t0 < 10 and not (tmp_path / "m.npz").exists()


@pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")  # 30 steps, on purpose
def test_the_memory_estimate_is_an_upper_bound():
    """The estimate against what a training really allocates (tracemalloc's peak): above it,
    and not by more than a factor 5."""
    import tracemalloc

    from otreg.nn import fit
    from otreg.nn.budget import training_bytes
    from otreg.nn.train import _settings
    from otreg.problem import Problem

    pr = Problem(*make_toy("moons", 200, seed=0))
    fit(pr, progress=False, width=8, depth=1, steps=3)      # lazy imports out of the way
    kw = dict(width=192, depth=2, steps=5, batch_size=30, patience=1000)
    cfg = _settings(pr.samples, pr.labels, dict(kw, seed=0))
    tracemalloc.start()
    try:
        fit(pr, progress=False, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = training_bytes(cfg, pr.samples.shape[0], 2)
    assert peak < est < 5 * peak, (est, peak)


def test_json_outputs_are_complete_json(tmp_path, cli):
    p = tmp_path / "s.json"
    rc, _, _ = cli(["solve", "--data", "moons", "--n", "10", "--json", p])
    assert rc == 0 and json.loads(p.read_text())["data"]["n"] == 10
    assert _listing(tmp_path) == ["s.json"]
