"""otreg's neural solver against deel-torchlip (the paper's authors' PyTorch library) on the same
data, network shape, loss and step budget (benchmark only: otreg never imports torch).

For each case: ``otreg.nn.fit`` with its defaults, then a torchlip network of the same shape
(``SpectralLinear`` layers, whose weights are spectrally normalised and Björck-orthonormalised
at every step, and ``GroupSort2``), trained full batch with Adam at otreg's learning rate, in
otreg's normalised units, on the same hKR loss, for as many steps as otreg ran; both on one
thread.  The gap is (L - L*) / (|L*| + 2 margin) of the exported (exactly 1-Lipschitz)
network, L* from ``otreg.hkr_transport``.

    pip install torch==2.13.0 && pip install deel-torchlip   # CPU build first
    python benchmarks/bench_torchlip.py                      # -> benchmarks/results/torchlip.md
    python benchmarks/bench_torchlip.py --cases digits --steps 500
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import markdown_table, write_result  # noqa: E402
from neural_cases import select  # noqa: E402

CASES = "moons 500/500,anisotropic 70/45,digits 4 vs 9,breast cancer,anisotropic 500/500 (8:1"


def torchlip_train(problem, width, depth, steps, lr, seed=0):
    """Train a torchlip network full batch with Adam on the hKR loss, in otreg's normalised
    units; returns (the ``vanilla_export``-ed network in eval mode, shift, scale, CPU s)."""
    import torch
    from deel import torchlip

    from otreg.nn.train import data_units

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    shift, scale = data_units(problem.samples, problem.weights)
    x = torch.tensor((problem.samples - shift) / scale, dtype=torch.float32)
    y, c_kr, c_h = (torch.tensor(v, dtype=torch.float32) for v in problem.coefficients())
    mu = problem.margin / scale
    dims = [problem.dim] + [width] * depth + [1]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torchlip.SpectralLinear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torchlip.GroupSort2())
    model = torchlip.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.8, 0.99))
    cpu = time.process_time()
    for _ in range(steps):
        f = model(x)[:, 0]
        loss = (c_kr * f).sum() + (c_h * torch.relu(mu - y * f)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    cpu = time.process_time() - cpu
    return model.vanilla_export().eval(), shift, scale, cpu


def torchlip_run(problem, width, depth, steps, lr, seed=0):
    """Train a torchlip network; returns (loss of the exported network, CPU seconds)."""
    import torch

    exported, shift, scale, cpu = torchlip_train(problem, width, depth, steps, lr, seed)
    x = torch.tensor((problem.samples - shift) / scale, dtype=torch.float32)
    with torch.no_grad():
        f = exported(x)[:, 0].double().numpy() * scale
    return problem.loss(f[problem.labels > 0], f[problem.labels < 0]), cpu


def compare(case, steps=None):
    from otreg import hkr_transport
    from otreg.metrics import relative_gap
    from otreg.nn import fit
    from otreg.nn._blas import blas_threads

    label, _, _, build = case
    pr = build()
    exact = hkr_transport(pr).loss
    with warnings.catch_warnings(), blas_threads(1):
        warnings.simplefilter("ignore")
        cpu = time.process_time()
        res = fit(pr, progress=False, **({} if steps is None else {"steps": steps}))
        cpu = time.process_time() - cpu
    cfg = res.settings
    loss_t, cpu_t = torchlip_run(pr, cfg["width"], cfg["depth"], res.steps_run, cfg["lr"])
    gap, gap_t = relative_gap(res.loss, exact, pr.margin), relative_gap(loss_t, exact, pr.margin)
    return [label, f"{pr.dim}-{cfg['width']}x{cfg['depth']}-1", res.steps_run,
            f"{100 * gap:.2f}%", f"{cpu:.1f}", f"{100 * gap_t:.2f}%", f"{cpu_t:.1f}",
            f"{cpu_t / max(cpu, 1e-9):.1f}x"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=CASES)
    parser.add_argument("--steps", type=int, default=None, help="a fixed budget for both")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "torchlip.md"))
    args = parser.parse_args(argv)
    rows = []
    for case in select(contains=args.cases):
        rows.append(compare(case, args.steps))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    import torch

    table = markdown_table(["data", "network", "steps (both)", "otreg gap", "otreg CPU s",
                            "torchlip gap", "torchlip CPU s", "torchlip / otreg CPU"], rows)
    write_result(args.out, "otreg against deel-torchlip: same data, network, loss and steps", [
        f"torch {torch.__version__}, one thread each. Gap = (L - L*) / (abs(L*) + 2 margin) of "
        "the exactly 1-Lipschitz network each returns (otreg: frozen weights; torchlip: "
        "`vanilla_export`). Both trained in otreg's normalised units with Adam (lr 4e-3, betas "
        "0.8 / 0.99); otreg also anneals the rate and keeps its best full-data loss.", table])
    return 0


if __name__ == "__main__":
    sys.exit(main())
