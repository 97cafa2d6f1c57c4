"""Make tests/data/torchlip_moons.onnx and .npz: a deel-torchlip network trained on two moons,
exported by PyTorch (benchmark only: otreg never imports torch; run once, the files are kept).

The network is torchlip's ``SpectralLinear`` layers with ``GroupSort2``
(``bench_torchlip.torchlip_train``), trained on the hKR loss in otreg's normalised units (centre
``shift``, RMS radius ``scale``); after ``vanilla_export()`` it is wrapped with those units
(``f(x) = scale g((x - shift) / scale)``, so the file works on the data's own coordinates),
converted to float64 and written by ``torch.onnx.export``, once by each of PyTorch's
exporters (``torchlip_moons.onnx``: TorchScript, ``dynamo=False``;
``torchlip_moons_dynamo.onnx``: torch.export, the default since torch 2.9).  The .npz holds,
in float64 and without pickled objects, the problem (``lam``, ``margin``, ``n``, ``seed`` of
``otreg.data.toys.two_moons``), sample points and PyTorch's values and input gradients there.

In a separate virtual environment (never in otreg's dependencies)::

    python -m venv .venv-torch
    .venv-torch/bin/pip install torch==2.13.0 && .venv-torch/bin/pip install deel-torchlip \\
        onnx onnxscript numpy scipy pot matplotlib numba tqdm
    PYTHONPATH=. .venv-torch/bin/python benchmarks/make_torchlip_onnx.py
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

LAM, MARGIN, N, SEED = 1.0, 0.1, 200, 0
WIDTH, DEPTH, STEPS, LR = 16, 2, 1500, 4e-3


def main(argv=None) -> int:
    import torch

    from bench_torchlip import torchlip_train

    from otreg import Problem
    from otreg.data.toys import two_moons

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "torchlip_moons"))
    args = parser.parse_args(argv)
    problem = Problem(*two_moons(N, seed=SEED), lam=LAM, margin=MARGIN)
    core, shift, scale, _ = torchlip_train(problem, WIDTH, DEPTH, STEPS, LR, SEED)
    core = core.double()

    class Units(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.core = core
            self.register_buffer("shift", torch.tensor(shift, dtype=torch.float64))
            self.scale = float(scale)

        def forward(self, x):
            return self.core((x - self.shift) / self.scale) * self.scale

    net = Units().eval()
    example = torch.zeros((1, problem.dim), dtype=torch.float64)
    # both of PyTorch's exporters: the TorchScript one (dynamo=False) and the torch.export one
    # (the default since torch 2.9; needs onnxscript), weights inside the file
    for suffix, opts in (("", dict(opset_version=17, dynamo=False)),
                         ("_dynamo", dict(opset_version=18, dynamo=True, external_data=False))):
        path = args.out + suffix + ".onnx"
        t0 = time.perf_counter()
        torch.onnx.export(net, (example,), path, input_names=["x"], output_names=["f"],
                          dynamic_axes={"x": {0: "n"}, "f": {0: "n"}}, **opts)
        print(f"{path}: exported in {time.perf_counter() - t0:.2f} s, "
              f"{os.path.getsize(path)} bytes")
    rng = np.random.default_rng(1)
    lo, hi = problem.samples.min(axis=0), problem.samples.max(axis=0)
    points = np.concatenate([problem.samples, rng.uniform(lo - 0.5, hi + 0.5, (200, 2))])
    xt = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    f = net(xt)[:, 0]
    (grad,) = torch.autograd.grad(f.sum(), xt)
    np.savez(args.out + ".npz", points=points, f=f.detach().numpy(), grad=grad.numpy(),
             lam=LAM, margin=MARGIN, n=N, seed=SEED, steps=STEPS,
             torch_version=np.array(torch.__version__))
    print(f"torch {torch.__version__}: {len(points)} points written to {args.out}.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
