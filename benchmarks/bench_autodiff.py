"""Time of one training step (forward + backward + Adam) of a 2-64-64-64-1 GroupSort network,
batch 256, hKR loss: otreg's NumPy autodiff against the same network written directly in NumPy
(hand-written backward), and against PyTorch CPU if ``import torch`` works.

All implementations do the same work: spectral normalisation by one power-iteration step,
15 Björck steps differentiated through, GroupSort-2, hKR loss, Adam.  The first step's
parameter updates of autodiff and hand-written NumPy are compared (they must agree to 1e-10).

    python benchmarks/bench_autodiff.py [--steps 200] [--quick] [--out benchmarks/results/autodiff.md]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from _common import machine_details  # noqa: E402

from otreg.nn import Adam, lipschitz_mlp  # noqa: E402
from otreg.nn._blas import blas_threads  # noqa: E402

WIDTH, DEPTH, BATCH, BJORCK, LAM, MARGIN, LR = 64, 3, 256, 15, 1.0, 0.1, 1e-3


def make_batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 2))
    y = np.where(np.arange(BATCH) % 2 == 0, 1.0, -1.0)
    w = np.full(BATCH, 2.0 / BATCH)
    c_kr = np.where(y > 0, -w, w)
    c_h = LAM * 0.5 * w
    return x, y, c_kr, c_h


# ---------------------------------------------------------------------- otreg autodiff
class AutodiffStep:
    name = "otreg autodiff"

    def __init__(self, seed=0):
        self.model = lipschitz_mlp(2, WIDTH, DEPTH, "groupsort", seed=seed, bjorck_iters=BJORCK)
        self.opt = Adam(self.model.parameters(), lr=LR)

    def __call__(self, x, y, c_kr, c_h):
        f = self.model(x).reshape(-1)
        loss = (f * c_kr).sum() + ((MARGIN - f * y).relu() * c_h).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def params(self):
        return [p.data for p in self.model.parameters()]


# ---------------------------------------------------------------------- hand-written NumPy
def _unit(v):
    return v / np.linalg.norm(v)


class NumpyStep:
    """The same network, re-parametrisation, loss and Adam, with a hand-written backward."""

    name = "hand-written NumPy"

    def __init__(self, seed=0):
        ref = lipschitz_mlp(2, WIDTH, DEPTH, "groupsort", seed=seed, bjorck_iters=BJORCK)
        self.w = [l.weight.data.copy() for l in ref.dense_layers]
        self.b = [l.bias.data.copy() for l in ref.dense_layers]
        self.u = [l.u.copy() for l in ref.dense_layers]
        self.m = [np.zeros_like(a) for a in self.w + self.b]
        self.v = [np.zeros_like(a) for a in self.w + self.b]
        self.t = 0

    @staticmethod
    def _bjorck(w):
        flip = w.shape[0] > w.shape[1]
        cur = w.T if flip else w
        eye15 = 1.5 * np.eye(cur.shape[0])
        saved = []
        for _ in range(BJORCK):
            mult = eye15 - 0.5 * (cur @ cur.T)
            saved.append((cur, mult))
            cur = mult @ cur
        return (cur.T if flip else cur), (flip, saved)

    @staticmethod
    def _bjorck_back(g, cache):
        flip, saved = cache
        bmat = g.T if flip else g
        for cur, mult in reversed(saved):
            s = bmat @ cur.T
            s += s.T
            s *= -0.5
            bmat = mult @ bmat + s @ cur
        return bmat.T if flip else bmat

    def __call__(self, x, y, c_kr, c_h):
        # re-parametrisation
        weights, caches = [], []
        for i, w in enumerate(self.w):
            v = _unit(w.T @ self.u[i])
            self.u[i] = u = _unit(w @ v)
            sigma = u @ w @ v
            w0 = w / sigma
            wb, cache = self._bjorck(w0)
            weights.append(wb)
            caches.append((u, v, sigma, w0, cache))
        # forward
        acts, masks = [x], []
        h = x
        n_layers = len(weights)
        for i, (wb, b) in enumerate(zip(weights, self.b)):
            z = h @ wb + b
            if i < n_layers - 1:
                k = z.shape[1] // 2
                mask = z[:, :k] >= z[:, k:]
                h = np.concatenate([np.where(mask, z[:, :k], z[:, k:]),
                                    np.where(mask, z[:, k:], z[:, :k])], axis=1)
                masks.append(mask)
                acts.append(h)
            else:
                h = z
        f = h[:, 0]
        hinge = MARGIN - f * y
        loss = float(c_kr @ f + c_h @ np.maximum(hinge, 0.0))
        # backward
        g = (c_kr - c_h * y * (hinge > 0))[:, None]
        grads_w, grads_b = [None] * n_layers, [None] * n_layers
        for i in range(n_layers - 1, -1, -1):
            grads_w[i] = acts[i].T @ g
            grads_b[i] = g.sum(0)
            if i > 0:
                ga = g @ weights[i].T
                mask = masks[i - 1]
                k = ga.shape[1] // 2
                g = np.concatenate([np.where(mask, ga[:, :k], ga[:, k:]),
                                    np.where(mask, ga[:, k:], ga[:, :k])], axis=1)
        for i in range(n_layers):
            u, v, sigma, w0, cache = caches[i]
            g0 = self._bjorck_back(grads_w[i], cache)
            grads_w[i] = g0 / sigma - (np.sum(g0 * w0) / sigma) * np.outer(u, v)
        # Adam
        self.t += 1
        c1, c2 = 1 - 0.9 ** self.t, 1 - 0.999 ** self.t
        for p, gr, m, vv in zip(self.w + self.b, grads_w + grads_b, self.m, self.v):
            m *= 0.9
            m += 0.1 * gr
            vv *= 0.999
            vv += 0.001 * (gr * gr)
            p -= (LR / c1) * m / (np.sqrt(vv / c2) + 1e-8)
        return loss

    def params(self):
        out = []
        for w, b in zip(self.w, self.b):
            out += [w, b]
        return out


# ---------------------------------------------------------------------- PyTorch (optional)
def torch_step_factory(seed=0):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    ref = lipschitz_mlp(2, WIDTH, DEPTH, "groupsort", seed=seed, bjorck_iters=BJORCK)
    ws = [torch.tensor(l.weight.data, requires_grad=True) for l in ref.dense_layers]
    bs = [torch.tensor(l.bias.data, requires_grad=True) for l in ref.dense_layers]
    us = [torch.tensor(l.u) for l in ref.dense_layers]
    opt = torch.optim.Adam(ws + bs, lr=LR)

    class TorchStep:
        name = f"PyTorch {torch.__version__} CPU (1 thread)"

        def __call__(self, x, y, c_kr, c_h):
            x, y = torch.as_tensor(x), torch.as_tensor(y)
            c_kr, c_h = torch.as_tensor(c_kr), torch.as_tensor(c_h)
            h = x
            for i, (w, b) in enumerate(zip(ws, bs)):
                with torch.no_grad():
                    v = w.T @ us[i]
                    v = v / v.norm()
                    us[i] = w @ v
                    us[i] = us[i] / us[i].norm()
                wb = w / (us[i] @ w @ v)
                flip = wb.shape[0] > wb.shape[1]
                cur = wb.T if flip else wb
                eye = torch.eye(cur.shape[0])
                for _ in range(BJORCK):
                    cur = (1.5 * eye - 0.5 * (cur @ cur.T)) @ cur
                wb = cur.T if flip else cur
                h = h @ wb + b
                if i < len(ws) - 1:
                    k = h.shape[1] // 2
                    h = torch.cat([torch.maximum(h[:, :k], h[:, k:]),
                                   torch.minimum(h[:, :k], h[:, k:])], dim=1)
            f = h[:, 0]
            loss = (f * c_kr).sum() + (torch.relu(MARGIN - f * y) * c_h).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return float(loss)

    return TorchStep()


def time_steps(step, batch, n_steps, warmup):
    for _ in range(warmup):
        step(*batch)
    times = []
    for _ in range(n_steps):
        t, c = time.perf_counter(), time.process_time()
        step(*batch)
        times.append((time.perf_counter() - t, time.process_time() - c))
    return times


def check_equivalence(batch):
    a, b = AutodiffStep(), NumpyStep()
    la, lb = a(*batch), b(*batch)
    diff = max(float(np.max(np.abs(p - q))) for p, q in zip(a.params(), b.params()))
    return abs(la - lb), diff


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="few steps (smoke test)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "autodiff.md"))
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.warmup = 5, 1
    batch = make_batch()
    rows = []
    with blas_threads(1):
        dloss, dparam = check_equivalence(batch)
        impls = [NumpyStep(), AutodiffStep()]
        torch_step = torch_step_factory()
        if torch_step is not None:
            impls.append(torch_step)
        # interleave the implementations in rounds, so that load changes hit all alike
        results = {impl.name: [] for impl in impls}
        rounds = 20 if not args.quick else 1
        per_round = max(1, args.steps // rounds)
        for impl in impls:
            time_steps(impl, batch, 0, args.warmup)
        # ratios are to the first implementation, the hand-written NumPy step
        for r in range(rounds):
            for impl in (impls if r % 2 == 0 else impls[::-1]):
                results[impl.name] += time_steps(impl, batch, per_round, 0)
    base = statistics.median(t for t, _ in results[NumpyStep.name])
    base_cpu = statistics.median(c for _, c in results[NumpyStep.name])
    for name, times in results.items():
        med = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        rows.append((name, 1e3 * med, 1e3 * min(t for t, _ in times), med / base, 1e3 * cpu,
                     cpu / base_cpu))
    lines = ["# Autodiff benchmark: one training step", "",
             f"Network 2-{WIDTH}-{WIDTH}-{WIDTH}-1 GroupSort-2, batch {BATCH}, hKR loss "
             f"(lam={LAM}, margin={MARGIN}), Adam; every implementation runs the same "
             f"re-parametrisation (1 power-iteration step + {BJORCK} Björck steps, "
             "differentiated through) on every step. BLAS limited to 1 thread. "
             f"{len(next(iter(results.values())))} timed steps per implementation, "
             "interleaved in rounds (alternating order) so that load changes on a shared machine hit "
             "all implementations alike.", "",
             "Wall-clock times suffer from other processes on a shared machine; the CPU time of "
             "this process (`time.process_time`) is less sensitive to them.", "",
             "| implementation | median wall (ms) | best wall (ms) | wall ratio | "
             "median CPU (ms) | CPU ratio |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, med, best, ratio, cpu, cpu_ratio in rows:
        lines.append(f"| {name} | {med:.3f} | {best:.3f} | {ratio:.2f}x | {cpu:.3f} | "
                     f"{cpu_ratio:.2f}x |")
    if torch_step is None:
        lines.append("| PyTorch CPU | not installed | | | | |")
    lines += ["", f"First-step agreement autodiff vs hand-written: |loss diff| = {dloss:.2e}, "
                  f"max |parameter diff| after the Adam step = {dparam:.2e}.", "",
              machine_details()]
    if args.quick:
        lines += ["", "(--quick run: too few steps for meaningful timings)"]
    text = "\n".join(lines) + "\n"
    print(text)
    if dparam > 1e-10:
        print("ERROR: autodiff and hand-written NumPy disagree", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
