"""Autodiff core: every op against central finite differences (float64)."""
import threading

import numpy as np
import pytest

from otreg.nn import Tensor, concatenate, maximum, minimum, no_grad, stack, where
from otreg.nn.tensor import _unbroadcast

from nn_gradcheck import check_grads

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape)


def away_from_zero(*shape):
    x = rng.uniform(0.2, 1.5, shape)
    return x * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)),
                                   ((2, 3, 4), (3, 1)), ((), (3, 2)), ((5,), ())])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "rsub", "rdiv"])
def test_binary_broadcasting(sa, sb, op):
    a, b = r(*sa), r(*sb)
    if op in ("div",):
        b = away_from_zero(*sb)
    if op == "rdiv":
        a = away_from_zero(*sa)
    fns = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
           "div": lambda x, y: x / y, "rsub": lambda x, y: y - x, "rdiv": lambda x, y: y / x}
    check_grads(fns[op], a, b)


def test_scalar_and_ndarray_operands_on_both_sides():
    a = away_from_zero(3, 2)
    c = r(3, 2)
    check_grads(lambda x: 2.0 + x * 3.0 - 1.5 / x + (1.0 - x) / 4.0, a)
    check_grads(lambda x: c * x + x * c - c / x + c - x, a)
    t = Tensor(a, requires_grad=True)
    out = c + t  # ndarray on the left must give a Tensor, not an object array
    assert isinstance(out, Tensor) and out.shape == (3, 2)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)),
                                   ((4,), (4,)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 2))])
def test_matmul(sa, sb):
    check_grads(lambda x, y: x @ y, r(*sa), r(*sb))


def test_rmatmul_with_array():
    w = r(4, 3)
    check_grads(lambda x: w.T @ x, r(4, 2))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (None, True), (0, False), (1, True),
                                           ((0, 2), False), (-1, False), ((0, -1), True)])
def test_sum_mean(axis, keepdims):
    x = r(2, 3, 4)
    check_grads(lambda t: t.sum(axis=axis, keepdims=keepdims), x)
    check_grads(lambda t: t.mean(axis=axis, keepdims=keepdims), x)
    assert np.allclose(Tensor(x).mean(axis=axis, keepdims=keepdims).data,
                       x.mean(axis=axis, keepdims=keepdims))


def test_unary_ops():
    x = away_from_zero(3, 4)
    pos = np.abs(x)
    check_grads(lambda t: -t, x)
    check_grads(lambda t: t.relu(), x)
    check_grads(lambda t: t.abs(), x)
    check_grads(lambda t: t.sqrt(), pos)
    check_grads(lambda t: t.exp(), x)
    check_grads(lambda t: t.log(), pos)
    check_grads(lambda t: t ** 3, x)
    check_grads(lambda t: t ** 2.5, pos)
    check_grads(lambda t: t ** -1, x)


def test_pow_rejects_tensor_exponent():
    with pytest.raises(TypeError):
        Tensor(1.0) ** Tensor(2.0)


def test_maximum_minimum_broadcasting():
    a, b = r(3, 4), r(4)
    b = b + 0.3  # no ties
    check_grads(lambda x, y: maximum(x, y), a, b)
    check_grads(lambda x, y: minimum(x, y), a, b)
    check_grads(lambda x, y: x.maximum(y) * x.minimum(y), a, b)
    assert np.array_equal(maximum(Tensor(a), Tensor(b)).data, np.maximum(a, b))
    assert np.array_equal(minimum(Tensor(a), 0.0).data, np.minimum(a, 0.0))


def test_where():
    cond = rng.random((3, 4)) > 0.5
    check_grads(lambda x, y: where(cond, x, y), r(3, 4), r(4))


def test_shape_ops():
    x = r(2, 3, 4)
    check_grads(lambda t: t.reshape(4, 6), x)
    check_grads(lambda t: t.reshape((6, 4)) * 2, x)
    check_grads(lambda t: t.transpose(2, 0, 1), x)
    check_grads(lambda t: t.T, x)
    assert Tensor(x).transpose(2, 0, 1).shape == (4, 2, 3)


@pytest.mark.parametrize("idx", [0, (slice(None), 1), (Ellipsis, slice(1, 3)),
                                 (np.array([0, 1, 0]),), (slice(None), np.array([2, 2, 0])),
                                 (np.array([[True, False, True], [False, True, True]]),)])
def test_getitem_including_repeated_fancy_indices(idx):
    check_grads(lambda t: t[idx], r(2, 3, 4))


def test_concatenate_stack():
    a, b, c = r(2, 3), r(4, 3), r(2, 3)
    check_grads(lambda x, y: concatenate([x, y], axis=0), a, b)
    check_grads(lambda x, y: concatenate([x, y], axis=1), a, c)
    check_grads(lambda x, y: stack([x, y], axis=0), a, c)
    check_grads(lambda x, y: stack([x, y], axis=-1), a, c)


def test_sort_last_axis():
    x = r(5, 6)  # distinct values almost surely
    check_grads(lambda t: t.sort(), x)
    assert np.array_equal(Tensor(x).sort().data, np.sort(x, axis=-1))


def test_graph_reuse_accumulates_and_diamond():
    x = r(3)
    # the same tensor used several times, through a diamond-shaped graph
    check_grads(lambda t: (t * t + t.exp() * t).sum() * t, x)
    t = Tensor(x, requires_grad=True)
    y = t * 2.0
    z = y * y + y  # diamond
    z.sum().backward()
    assert np.allclose(t.grad, 8 * x + 2)
    # a second backward accumulates
    (t * 3.0).sum().backward()
    assert np.allclose(t.grad, 8 * x + 5)


def test_deep_graph_no_recursion_limit():
    t = Tensor(np.ones(2), requires_grad=True)
    out = t
    for _ in range(5000):
        out = out * 1.0001
    out.sum().backward()
    assert np.allclose(t.grad, 1.0001 ** 5000)


def test_constant_inputs_get_no_grad_and_no_graph():
    a = Tensor(r(3))
    b = Tensor(r(3), requires_grad=True)
    out = (a * b).sum()
    out.backward()
    assert a.grad is None and b.grad is not None
    assert not (a * 2).requires_grad
    with no_grad():
        c = b * 2
    assert not c.requires_grad and c._parents == ()
    with pytest.raises(RuntimeError):
        (a * 2).sum().backward()
    with pytest.raises(RuntimeError):
        (b * 2).backward()  # non-scalar without grad


def test_backward_with_explicit_grad():
    x = r(3, 2)
    t = Tensor(x, requires_grad=True)
    g = r(3, 2)
    (t * t).backward(g)
    assert np.allclose(t.grad, 2 * x * g)


def test_unbroadcast_shapes():
    g = np.ones((2, 3, 4))
    assert _unbroadcast(g, (3, 1)).shape == (3, 1)
    assert np.all(_unbroadcast(g, (3, 1)) == 8)
    assert _unbroadcast(g, ()).shape == ()
    assert float(_unbroadcast(g, ())) == 24


def test_gradient_wrt_inputs_of_a_small_network():
    w1, b1, w2 = r(2, 6), r(6), r(6, 1)
    x = r(5, 2)
    check_grads(lambda xx, a, bb, c: ((xx @ a + bb).relu() @ c), x, w1, b1, w2)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import array_shapes, broadcastable_shapes  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_broadcasting_gradients_property(data):
    """Random broadcast-compatible shapes: d/da sum(w * (a*b + a/b - b)) by finite differences."""
    shape_a = data.draw(array_shapes(min_dims=0, max_dims=3, max_side=3))
    shape_b = data.draw(broadcastable_shapes(shape_a, min_dims=0, max_dims=3, max_side=3))
    seed = data.draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    a = g.standard_normal(shape_a)
    b = g.uniform(0.5, 2.0, shape_b) * g.choice([-1.0, 1.0], shape_b)
    check_grads(lambda x, y: x * y + x / y - y, a, b)


def test_grad_mode_is_per_thread():
    """One thread inside no_grad() (evaluating, say) must not stop another from recording."""
    inside, release = threading.Event(), threading.Event()

    def evaluator():
        with no_grad():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=evaluator)
    worker.start()
    assert inside.wait(10)
    try:
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        assert y.requires_grad
        y.backward()
        assert np.allclose(x.grad, [2.0, 4.0])
    finally:
        release.set()
        worker.join()
    with no_grad():
        assert not (Tensor([1.0], requires_grad=True) * 2.0).requires_grad
