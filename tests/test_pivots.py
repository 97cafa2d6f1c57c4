"""The network simplex pivots exactly as the recording made before its code was reorganised
(tests/data/pivots_recorded.json): on a fixed set of dense problems (both first trees, hKR and
general bounds, ties, small pricing blocks) and restricted problems of column generation, the
same pivot counts, work counters, the same plans and duals to the last bit (hashes of their
bytes) and the same optimal values to 4 units in the last place: the value is a NumPy reduction
over the plan, whose summation order follows the CPU's vector width, so the same plan sums to
values one ulp apart on different machines.  A change that alters any pivot fails here;
re-record only on purpose (``python tests/pivot_cases.py --record``)."""
import json
import os

import numpy as np

import pytest
from pivot_cases import RECORDING, record

with open(RECORDING, encoding="utf-8") as fh:
    RECORDED = json.load(fh)


@pytest.fixture(scope="module")
def replayed():
    return record()


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_pivots_as_recorded(case, replayed):
    got, want = dict(replayed[case]), dict(RECORDED[case])
    for key in ("value", "primal"):
        if key in want:
            a, b = float.fromhex(got.pop(key)), float.fromhex(want.pop(key))
            assert abs(a - b) <= 4 * np.spacing(abs(b)), (key, a, b)
    assert got == want


def test_recording_covers_dense_and_restricted():
    assert os.path.exists(RECORDING)
    assert sum(k.startswith("sparse") for k in RECORDED) == 3 and len(RECORDED) == 14
