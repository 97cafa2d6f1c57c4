"""Train a 1-Lipschitz network on the hKR loss and compare it with the exact optimum.

Run: python docs/examples/train.py
"""
import numpy as np

from otreg import Problem, hkr_transport
from otreg.data.toys import make_toy
from otreg.nn import fit

x_pos, x_neg = make_toy("moons", n_pos=150, seed=0)
problem = Problem(x_pos, x_neg, lam=1.0, margin=0.1)

exact = hkr_transport(problem)
result = fit(problem, seed=0, progress=False)  # defaults chosen from the data
model = result.model
print(f"exact min L = {exact.loss:.5f}   network L = {result.loss:.5f}   "
      f"gap = {result.loss - exact.loss:.5f} (>= 0: the LP value is the minimum)")
assert result.loss >= exact.loss - 1e-9

points = np.array([[0.0, 0.5], [1.0, 0.0]])
print("network f:", np.round(model.predict(points).ravel(), 4))
print("|grad f|:", np.round(np.linalg.norm(model.grad(points), axis=1), 4), "(<= 1)")
print(f"trained {result.steps_run} steps in {result.seconds:.1f}s (stopped on the "
      f"{result.stop_reason}), relative gap "
      f"{(result.loss - exact.loss) / (abs(exact.loss) + 2 * problem.margin):.3%}")
