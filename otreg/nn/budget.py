"""Memory and time of a training run, estimated from its settings before it starts: a network
that cannot fit in the memory available, or a budget that cannot end, is refused at once with
a message naming the options, instead of swapping for hours or being killed."""
from __future__ import annotations

from ..data.memory import available_memory_bytes
from ..errors import InputError, MemoryLimitError

__all__ = ["check_budget", "training_bytes", "training_flops"]

#: arithmetic speed credited to the machine by the time estimate (floating-point operations per
#: second): faster than any CPU run of otreg, so that only runs which certainly cannot end
#: are refused
FLOPS = 1e11
#: the longest training accepted (seconds at :data:`FLOPS`)
MAX_SECONDS = 30 * 86400
#: bytes held per layer whatever its size (the layer objects, their caches)
LAYER_OVERHEAD = 16 * 1024
#: float64 copies of the weights alive at the peak of a training (measured, see
#: :func:`training_bytes`)
WEIGHT_COPIES = 80


def _weights(dim: int, width: int, depth: int, out_dim: int) -> int:
    dims = [dim] + [width] * depth + [out_dim]
    return sum(a * b for a, b in zip(dims, dims[1:]))


def training_bytes(cfg: dict, n_points: int, dim: int, out_dim: int = 1) -> int:
    """Peak memory of :func:`otreg.nn.fit` with settings ``cfg``, an upper estimate: the
    weights with their gradients, the optimiser's moments, the best copy and the temporaries
    of the orthonormalisation (:data:`WEIGHT_COPIES` float64 copies; tracemalloc's peak of
    networks 256 x 3 to 512 x 4 is 62-70 copies); the activations of a mini-batch kept for
    the backward pass (6 arrays per layer); one full-data pass (3 arrays of the widest
    layer)."""
    width, depth = int(cfg["width"]), int(cfg["depth"])
    item = 4 if cfg.get("dtype") == "float32" else 8
    batch = min(int(cfg["batch_size"]), n_points)
    widest = max(width, dim, out_dim)
    return (WEIGHT_COPIES * 8 * _weights(dim, width, depth, out_dim)
            + 6 * item * batch * (width * depth + dim + out_dim)
            + 3 * 8 * n_points * widest
            + LAYER_OVERHEAD * (depth + 1))


def training_flops(cfg: dict, n_points: int, dim: int, out_dim: int = 1) -> float:
    """Floating-point operations of the whole step budget: forward and backward passes of a
    mini-batch (6 per weight and sample) and the Björck orthonormalisation of every square
    layer (4 width^3 per iteration)."""
    width, depth = int(cfg["width"]), int(cfg["depth"])
    batch = min(int(cfg["batch_size"]), n_points)
    iters = int(cfg.get("bjorck_iters") or 1)
    per_step = (6.0 * batch * _weights(dim, width, depth, out_dim)
                + 4.0 * iters * depth * float(width) ** 3)
    return float(cfg["steps"]) * per_step


def _gib(v: float) -> str:
    return f"{v / 2**30:.3g} GiB"


def check_budget(cfg: dict, n_points: int, dim: int, out_dim: int = 1,
                 memory: int | None = None) -> None:
    """Raise :class:`MemoryLimitError` naming width / depth / batch_size when the run of
    ``cfg`` needs more memory than ``memory`` (default:
    :func:`otreg.data.memory.available_memory_bytes`), :class:`InputError` naming steps when
    it would take more than :data:`MAX_SECONDS`."""
    need = training_bytes(cfg, n_points, dim, out_dim)
    have = available_memory_bytes() if memory is None else memory
    if need > have:
        raise MemoryLimitError(
            f"width={cfg['width']}, depth={cfg['depth']}, batch_size={cfg['batch_size']}: "
            f"training on {n_points} points needs about {_gib(need)} of memory, and "
            f"{_gib(have)} is available; reduce depth, width or batch_size")
    seconds = training_flops(cfg, n_points, dim, out_dim) / FLOPS
    if seconds > MAX_SECONDS:
        raise InputError(
            f"steps={cfg['steps']} (width={cfg['width']}, depth={cfg['depth']}, "
            f"batch_size={cfg['batch_size']}): training would take at least "
            f"{seconds / 86400:.3g} days even at {FLOPS:.0e} floating-point operations per "
            f"second (the limit is {MAX_SECONDS // 86400} days); reduce steps, depth or width")
