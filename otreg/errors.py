"""Exceptions raised by otreg.

Every layer raises these (or plain :class:`ValueError` subclasses) so that a user sees which
argument or which solver is at fault, never a traceback from deep inside SciPy or POT.
"""


class OtregError(Exception):
    """Base class of all otreg errors."""


class InputError(OtregError, ValueError):
    """An argument is invalid (shape, NaN/inf, weights, parameters, files).

    The message always starts with the argument's name.
    """


class SolverError(OtregError, RuntimeError):
    """An exact solver failed or could not certify its answer; the message names the solver."""


class NumericalError(OtregError, ArithmeticError):
    """A result that should be finite is not (NaN or an infinity met before it is written out);
    the message names the entry."""


class MemoryLimitError(OtregError, MemoryError):
    """The dense problem would not fit in memory; raised before anything is allocated."""


class TrainingError(OtregError, RuntimeError):
    """Training of a network failed (e.g. the loss diverged); the message names the option to
    change."""


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, a KeyboardInterrupt (Ctrl-C).

    A KeyboardInterrupt raised while compiled (numba) code runs surfaces as ``SystemError:
    CPUDispatcher(...) returned a result with an exception set``, with the interrupt at the
    end of its chain of causes; ``except Exception`` would otherwise swallow the Ctrl-C."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return True
        stack += [e.__cause__, e.__context__]
    return False
