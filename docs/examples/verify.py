"""Check the paper's properties numerically on a small problem (exact potential + network).

Run: python docs/examples/verify.py
"""
from otreg.data.toys import make_toy
from otreg.verify import verify

x_pos, x_neg = make_toy("moons", n_pos=40, seed=0)
report = verify(x_pos, x_neg, lam=1.0, margin=0.1, seed=0)  # trains with fit's defaults
print(report.table())
# the exact solution's checks hold to floating point; the network's within documented tolerances
print("failed checks:", report.failed or "none")
d = report.to_dict()
print(f"LP loss {d['lp']['loss']:.6f}, W1 {d['lp']['w1']:.6f}, network loss "
      f"{d['neural']['loss']:.6f}")
