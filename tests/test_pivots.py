"""The network simplex pivots exactly as the recording made before its code was reorganised
(tests/data/pivots_recorded.json): on a fixed set of dense problems (both first trees, hKR and
general bounds, ties, small pricing blocks) and restricted problems of column generation, the
same pivot counts, work counters, values to the last bit and the same plans and duals (hashes of
their bytes).  A change that alters any pivot fails here; re-record only on purpose
(``python tests/pivot_cases.py --record``)."""
import json
import os

import pytest
from pivot_cases import RECORDING, record

with open(RECORDING, encoding="utf-8") as fh:
    RECORDED = json.load(fh)


@pytest.fixture(scope="module")
def replayed():
    return record()


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_pivots_as_recorded(case, replayed):
    assert replayed[case] == RECORDED[case]


def test_recording_covers_dense_and_restricted():
    assert os.path.exists(RECORDING)
    assert sum(k.startswith("sparse") for k in RECORDED) == 3 and len(RECORDED) == 14
