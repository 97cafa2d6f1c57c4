"""A small robustness sweep: clean and certified accuracy against λ (exact potential).

Run: python docs/examples/sweep.py [OUT_DIR]
"""
import os
import sys
import tempfile

from otreg.plot import plot_sweep_table
from otreg.study import sweep, trade_off_table

out_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
os.makedirs(out_dir, exist_ok=True)
table = sweep(["moons"], lams=[0, 0.1, 1, 10], margins=[0.1], seeds=[0, 1], n=100,
              out=os.path.join(out_dir, "sweep.csv"), workers=1, checks=False,
              progress=False)
print(trade_off_table(table))
print("wrote", plot_sweep_table(table, os.path.join(out_dir, "sweep.png")))
