"""Build hook: compile otreg's numba kernels ahead of time into the extension module
otreg.transport._compiled (numba.pycc), so that the first call of a fresh install does not wait
for the just-in-time compiler.  Everything else is declared in pyproject.toml.

If the compilation cannot run (no C compiler, numba.pycc unavailable -- numba has marked it
deprecated --, a kernel that does not compile), the install goes on without the module and the
kernels are compiled by numba on first use into its on-disk cache; `python -m
otreg.transport.warm` (run by the Makefile after the install) fills that cache at install time.
`make test` sets OTREG_REQUIRE_AOT=1, so that tests/test_aot.py fails where the module is
expected; tests/test_aot.py also forces the path without numba.pycc.
"""
import contextlib
import os
import sys
import types

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


@contextlib.contextmanager
def kernel_stubs():
    """Make otreg.transport's kernel modules importable without running otreg/__init__.py
    (which needs the runtime dependencies, absent from the isolated build environment).  Needed
    while the extension is declared and while it is compiled (numba pickles the kernels' types,
    and unpickling imports their module by name); removed afterwards, so that setuptools never
    sees the stubs."""
    added = []
    for name in ("otreg", "otreg.transport"):
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [os.path.join(HERE, *name.split("."))]
            sys.modules[name] = pkg
            added.append(name)
    try:
        yield
    finally:
        for name in reversed(added):
            del sys.modules[name]


def aot_extensions():
    if os.environ.get("OTREG_NO_AOT", "") not in ("", "0"):
        return []
    try:
        with kernel_stubs():
            from otreg.transport._aot_build import cc

            cc.target_cpu = os.environ.get("OTREG_AOT_CPU", "")  # "" = generic (portable)
            return [cc.distutils_extension()]
    except Exception as exc:  # noqa: BLE001 - any failure means: no ahead-of-time module
        print(f"otreg: kernels not compiled ahead of time ({type(exc).__name__}: {exc}); "
              "numba will compile them on first use (python -m otreg.transport.warm does it "
              "now)", file=sys.stderr)
        return []


def tolerant_build_ext():
    """build_ext (as numba.pycc patched it) that reports a failed ahead-of-time compilation
    instead of failing the install: the numba just-in-time kernels remain."""
    from setuptools.command import build_ext

    class BuildExt(build_ext.build_ext):
        def build_extension(self, ext):
            try:
                with kernel_stubs():
                    super().build_extension(ext)
            except Exception as exc:  # noqa: BLE001 - any failure means: no compiled module
                print(f"otreg: kernels not compiled ahead of time ({type(exc).__name__}: {exc});"
                      " numba will compile them on first use", file=sys.stderr)
                # nothing to copy or list as an output (an editable install copies the outputs)
                self.extensions = [e for e in self.extensions if e is not ext]

    return BuildExt


extensions = aot_extensions()
setup(ext_modules=extensions, cmdclass={"build_ext": tolerant_build_ext()} if extensions else {})
