"""The kernels compiled ahead of time at install (otreg.transport._aot): used only while they
match the sources, and then identical, bit for bit, to numba's just-in-time ones."""
import os
import sys

import numpy as np
import pytest

from otreg.data.toys import two_moons
from otreg.transport import _aot, extension, objective, solve_bounded
from otreg.transport.netsimplex import driver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
compiled = _aot.compiled_module()
needs_module = pytest.mark.skipif(
    compiled is None and not os.environ.get("OTREG_REQUIRE_AOT"),
    reason="the install did not compile the kernels ahead of time (no C compiler?) or the "
           "sources changed since; `make test` reinstalls and requires them")


@needs_module
def test_compiled_module_is_current():
    """Under `make test` (OTREG_REQUIRE_AOT=1) a silently failed compilation is an error."""
    assert compiled is not None, ("otreg.transport._compiled is missing or stale: reinstall "
                                  "(pip install -e .) and read the build log")


@needs_module
def test_compiled_kernels_equal_the_jit_ones():
    x, z = two_moons(60, 45, seed=3)
    zt = np.ascontiguousarray(z.T)
    d_aot, d_jit = np.empty((60, 45)), np.empty((60, 45))
    assert compiled.distances_into(x, zt, d_aot) == objective._distances_into(x, zt, d_jit)
    assert np.array_equal(d_aot, d_jit)
    a, b = np.full(60, 1 / 60), np.full(45, 1 / 45)
    opts = driver._Options(10**9, 1000, True, 32, 0.5, 32, 128)
    for lam in (0.0, 1.0, 100.0):
        args = (d_aot.ravel(), -0.2, a, (1 + lam / 2) * a, b, (1 + lam / 2) * b)
        ours, jit = compiled.network_simplex(*args, *opts), driver._network_simplex(*args, opts)
        assert ours[0] == jit[0] and ours[1] == jit[1]  # status, pivots
        for u, v in zip(ours[2:], jit[2:]):
            assert np.array_equal(u, v)
    f = np.linspace(-1, 1, 45)
    for u, v in zip(compiled.c_transform(f, d_aot), extension._c_transform_kernel(f, d_aot)):
        assert np.array_equal(u, v)
    pts = np.random.default_rng(0).normal(size=(30, 2))
    for kind in range(3):
        for u, v in zip(compiled.extension(pts, x, x[:, 0].copy(), kind),
                        extension._extension_kernel(pts, x, x[:, 0].copy(), kind)):
            assert np.array_equal(u, v)


def test_stale_or_disabled_module_is_not_used(monkeypatch):
    _aot.compiled_module.cache_clear()
    try:
        monkeypatch.setattr(_aot, "source_hash", lambda: -1)  # the sources changed
        assert _aot.compiled_module() is None and _aot.kernel("network_simplex") is None
        _aot.compiled_module.cache_clear()
        monkeypatch.undo()
        monkeypatch.setenv("OTREG_JIT", "1")
        assert _aot.compiled_module() is None
        # the numba fall-back gives the same answer
        sol = solve_bounded([1.0], [1.0], [0.5, 0.5], [0.5, 0.5], np.array([[1.0, 2.0]]))
        assert sol.value == 1.5
    finally:
        _aot.compiled_module.cache_clear()


def test_install_without_numba_pycc(monkeypatch, capsys):
    """numba.pycc is deprecated: where it cannot be imported, setup.py declares no extension
    module (the install goes on, without failing) and says how the kernels will be compiled."""
    import runpy

    import setuptools

    calls = []
    monkeypatch.setattr(setuptools, "setup", lambda **kw: calls.append(kw))
    monkeypatch.setitem(sys.modules, "numba.pycc", None)  # `from numba.pycc import CC` fails
    monkeypatch.delitem(sys.modules, "otreg.transport._aot_build", raising=False)
    monkeypatch.delenv("OTREG_NO_AOT", raising=False)
    runpy.run_path(os.path.join(ROOT, "setup.py"), run_name="setup")
    assert calls == [{"ext_modules": [], "cmdclass": {}}]
    err = capsys.readouterr().err
    assert "kernels not compiled ahead of time (ModuleNotFoundError: import of numba.pycc" in err
    assert "python -m otreg.transport.warm" in err


def test_kernels_work_without_the_compiled_module(monkeypatch):
    """No extension module at all (as after an install without numba.pycc): every kernel runs
    through numba, and gives the compiled module's answers bit for bit."""
    from otreg import hkr_transport
    from otreg.transport import warm

    x, z = two_moons(30, 20, seed=5)
    with_module = hkr_transport(x, z, method="netsimplex")
    _aot.compiled_module.cache_clear()
    try:
        monkeypatch.setitem(sys.modules, "otreg.transport._compiled", None)  # import fails
        assert _aot.compiled_module() is None and _aot.kernel("network_simplex") is None
        without = hkr_transport(x, z, method="netsimplex")
        assert without.loss == with_module.loss
        assert np.array_equal(without.f_pos, with_module.f_pos)
        assert warm.warm()[0] == "dense (numba JIT)"
    finally:
        _aot.compiled_module.cache_clear()
