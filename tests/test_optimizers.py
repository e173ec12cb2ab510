"""Optimizers: hand-computed steps, PyTorch as the reference oracle, clipping, state, config.

The PyTorch tests skip when torch is not installed; everything else runs on NumPy alone.
"""

import json
import math
import types

import numpy as np
import pytest

from tinynn import optimizers
from tinynn.kernels.numpy_ops import update_rules as numpy_optim
from tinynn.optimizers import SGD, Adam, AdamW, RMSprop, schedules

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def pairs(params, grads):
    return list(zip(params, grads, strict=True))


def one_param_run(opt, param, grad_sequence):
    """Apply ``opt`` to a single parameter for each gradient in turn; return the param."""
    param = np.array(param, dtype=np.float64)
    for g in grad_sequence:
        opt.step([(param, np.array(g, dtype=np.float64))])
    return param


# --- hand-computed steps ---------------------------------------------------------------------


def test_sgd_plain_two_steps():
    # param −= 0.1·grad, twice: 1 − 0.05 − 0.05 and −2 − 0.1 − 0.1
    p = one_param_run(SGD(0.1), [1.0, -2.0], [[0.5, 1.0], [0.5, 1.0]])
    np.testing.assert_allclose(p, [0.9, -2.2], rtol=1e-15)


def test_sgd_momentum_two_steps():
    # step 1: b = g = [0.5, 1];            param = [1 − 0.05, −2 − 0.1]      = [0.95, −2.1]
    # step 2: b = 0.9·b + g = [0.95, 1.9]; param = [0.95 − 0.095, −2.1 − 0.19] = [0.855, −2.29]
    p = one_param_run(SGD(0.1, momentum=0.9), [1.0, -2.0], [[0.5, 1.0], [0.5, 1.0]])
    np.testing.assert_allclose(p, [0.855, -2.29], rtol=1e-15)


def test_sgd_dampening_does_not_apply_on_the_first_step():
    # step 1: b = g (undampened) → [0.95, −2.1]
    # step 2: b = 0.9·[0.5, 1] + (1 − 0.5)·[0.5, 1] = [0.7, 1.4] → [0.88, −2.24]
    opt = SGD(0.1, momentum=0.9, dampening=0.5)
    p = one_param_run(opt, [1.0, -2.0], [[0.5, 1.0], [0.5, 1.0]])
    np.testing.assert_allclose(p, [0.88, -2.24], rtol=1e-15)


def test_sgd_nesterov_two_steps():
    # step 1: b = g; update g + 0.9·b = [0.95, 1.9] → [0.905, −2.19]
    # step 2: b = [0.95, 1.9]; update g + 0.9·b = [1.355, 2.71] → [0.7695, −2.461]
    opt = SGD(0.1, momentum=0.9, nesterov=True)
    p = one_param_run(opt, [1.0, -2.0], [[0.5, 1.0], [0.5, 1.0]])
    np.testing.assert_allclose(p, [0.7695, -2.461], rtol=1e-14)


def test_sgd_weight_decay_is_added_to_the_gradient():
    # g = [0.5 + 0.1·1, 1 + 0.1·(−2)] = [0.6, 0.8]; param = [1 − 0.06, −2 − 0.08]
    p = one_param_run(SGD(0.1, weight_decay=0.1), [1.0, -2.0], [[0.5, 1.0]])
    np.testing.assert_allclose(p, [0.94, -2.08], rtol=1e-15)


def test_rmsprop_plain_two_steps():
    # step 1: v = 0.1·4 = 0.4;          param = 1 − 0.01·2/√0.4
    # step 2: v = 0.9·0.4 + 0.4 = 0.76; param −= 0.01·2/√0.76
    p = one_param_run(RMSprop(0.01, epsilon=0.0), [1.0], [[2.0], [2.0]])
    expected = 1 - 0.02 / math.sqrt(0.4) - 0.02 / math.sqrt(0.76)
    assert p[0] == pytest.approx(expected, rel=1e-15)


def test_rmsprop_centered_two_steps():
    # step 1: v = 0.4, a = 0.2,  den = √(0.4 − 0.04) = 0.6;     param = 1 − 0.02/0.6
    # step 2: v = 0.76, a = 0.2 + 0.1·(2 − 0.2) = 0.38, den = √(0.76 − 0.1444)
    p = one_param_run(RMSprop(0.01, epsilon=0.0, centered=True), [1.0], [[2.0], [2.0]])
    expected = 1 - 0.02 / 0.6 - 0.02 / math.sqrt(0.76 - 0.38**2)
    assert p[0] == pytest.approx(expected, rel=1e-14)


def test_rmsprop_momentum_two_steps():
    # b1 = 2/√0.4; b2 = 0.5·b1 + 2/√0.76; param = 1 − 0.01·b1 − 0.01·b2
    p = one_param_run(RMSprop(0.01, epsilon=0.0, momentum=0.5), [1.0], [[2.0], [2.0]])
    b1 = 2 / math.sqrt(0.4)
    b2 = 0.5 * b1 + 2 / math.sqrt(0.76)
    assert p[0] == pytest.approx(1 - 0.01 * b1 - 0.01 * b2, rel=1e-15)


def test_adam_two_steps():
    # step 1: m̂ = g and v̂ = g², so the step is lr·sign(g): [1, −2] → [0.9, −1.9]
    # step 2: m = 0.9·m1 + 0.1·g2, v = 0.999·v1 + 0.001·g2², then bias-correct by t = 2
    g1, g2 = np.array([0.5, -4.0]), np.array([1.5, -4.0])
    p = one_param_run(Adam(0.1, epsilon=0.0), [1.0, -2.0], [g1, g2])
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1**2) + 0.001 * g2**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = np.array([0.9, -1.9]) - 0.1 * m_hat / np.sqrt(v_hat)
    np.testing.assert_allclose(p, expected, rtol=1e-14)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    # g1 = 10: v1 = 0.1.  g2 = 0: v2 = 0.0999 < v1, so AMSGrad divides by √(v1/(1 − 0.999²)).
    p = one_param_run(Adam(0.1, epsilon=0.0, amsgrad=True), [1.0], [[10.0], [0.0]])
    m2 = 0.9 * 1.0
    step2 = 0.1 * (m2 / (1 - 0.81)) / math.sqrt(0.1 / (1 - 0.999**2))
    assert p[0] == pytest.approx(1.0 - 0.1 - step2, rel=1e-14)


def test_adam_l2_versus_adamw_decoupled_decay():
    # Adam: g = 0.5 + 0.5·1 = 1, first step is lr·sign(g) → 0.9
    # AdamW: param·(1 − 0.1·0.5) = 0.95, then lr·sign(0.5) → 0.85
    assert one_param_run(Adam(0.1, weight_decay=0.5, epsilon=0.0), [1.0], [[0.5]])[0] == (
        pytest.approx(0.9, rel=1e-15)
    )
    assert one_param_run(AdamW(0.1, weight_decay=0.5, epsilon=0.0), [1.0], [[0.5]])[0] == (
        pytest.approx(0.85, rel=1e-15)
    )


# --- PyTorch as the oracle -------------------------------------------------------------------

CASES = [
    (SGD, dict(learning_rate=0.1), "SGD", dict(lr=0.1)),
    (SGD, dict(learning_rate=0.1, momentum=0.9), "SGD", dict(lr=0.1, momentum=0.9)),
    (
        SGD,
        dict(learning_rate=0.05, momentum=0.8, dampening=0.3),
        "SGD",
        dict(lr=0.05, momentum=0.8, dampening=0.3),
    ),
    (
        SGD,
        dict(learning_rate=0.05, momentum=0.9, nesterov=True),
        "SGD",
        dict(lr=0.05, momentum=0.9, nesterov=True),
    ),
    (
        SGD,
        dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01),
        "SGD",
        dict(lr=0.1, momentum=0.9, weight_decay=0.01),
    ),
    (RMSprop, dict(learning_rate=0.01), "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-7)),
    (
        RMSprop,
        dict(learning_rate=0.01, rho=0.99, centered=True, epsilon=1e-8),
        "RMSprop",
        dict(lr=0.01, alpha=0.99, centered=True, eps=1e-8),
    ),
    (
        RMSprop,
        dict(learning_rate=0.01, momentum=0.9),
        "RMSprop",
        dict(lr=0.01, alpha=0.9, momentum=0.9, eps=1e-7),
    ),
    (
        RMSprop,
        dict(learning_rate=0.01, weight_decay=0.1, centered=True, momentum=0.5),
        "RMSprop",
        dict(lr=0.01, alpha=0.9, weight_decay=0.1, centered=True, momentum=0.5, eps=1e-7),
    ),
    (Adam, dict(learning_rate=0.01), "Adam", dict(lr=0.01, eps=1e-7)),
    (Adam, dict(learning_rate=0.01, amsgrad=True), "Adam", dict(lr=0.01, amsgrad=True, eps=1e-7)),
    (
        Adam,
        dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.8, beta_2=0.99),
        "Adam",
        dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-7),
    ),
    (AdamW, dict(learning_rate=0.01), "AdamW", dict(lr=0.01, weight_decay=0.004, eps=1e-7)),
    (
        AdamW,
        dict(learning_rate=0.01, weight_decay=0.1, amsgrad=True),
        "AdamW",
        dict(lr=0.01, weight_decay=0.1, amsgrad=True, eps=1e-7),
    ),
]


def random_problem(seed, steps):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(shape) for shape in SHAPES]
    grad_sequence = []
    for _ in range(steps):  # varying scales make AMSGrad's max and the clipping matter
        scale = rng.uniform(0.1, 3.0)
        grad_sequence.append([scale * rng.standard_normal(shape) for shape in SHAPES])
    return params, grad_sequence


def run_ours(opt, params, grad_sequence):
    """Step ``opt`` through the gradients, writing them into fixed grad arrays as layers do."""
    params = [p.copy() for p in params]
    grads = [np.zeros_like(p) for p in params]
    for step_grads in grad_sequence:
        for grad, source in zip(grads, step_grads, strict=True):
            grad[...] = source
        opt.step(pairs(params, grads))
    return params


def run_torch(torch, torch_name, torch_kwargs, params, grad_sequence, clip=None):
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = getattr(torch.optim, torch_name)(tensors, foreach=False, **torch_kwargs)
    for step_grads in grad_sequence:
        for tensor, source in zip(tensors, step_grads, strict=True):
            tensor.grad = torch.tensor(source.copy())
        if clip is not None:
            clip(tensors)
        opt.step()
    return [t.detach().numpy() for t in tensors]


def assert_close_relative(ours, reference, rtol=1e-12):
    """Normwise relative error of each array ≤ rtol (elementwise is meaningless near 0)."""
    for a, b in zip(ours, reference, strict=True):
        assert np.max(np.abs(a - b)) <= rtol * np.max(np.abs(b)), (a, b)


@pytest.mark.parametrize(("cls", "kwargs", "torch_name", "torch_kwargs"), CASES)
def test_matches_pytorch_over_25_steps(cls, kwargs, torch_name, torch_kwargs):
    torch = pytest.importorskip("torch")
    params, grad_sequence = random_problem(0, 25)
    ours = run_ours(cls(**kwargs), params, grad_sequence)
    reference = run_torch(torch, torch_name, torch_kwargs, params, grad_sequence)
    assert_close_relative(ours, reference)


def torch_clip_norm(torch, tensors, max_norm):
    """``clip_grad_norm_`` scales by max_norm/(norm + 1e-6); Keras and tinynn by
    max_norm/norm. Hand torch a max_norm enlarged by (norm + 1e-6)/norm so the two coincide."""
    grads = [t.grad for t in tensors]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    torch.nn.utils.clip_grad_norm_(tensors, max_norm * (float(norm) + 1e-6) / float(norm))


def test_clipvalue_matches_clip_grad_value():
    torch = pytest.importorskip("torch")
    params, (grads,) = random_problem(1, 1)
    SGD(0.1, clipvalue=0.5).step(pairs([p.copy() for p in params], grads))
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    _, (torch_grads,) = random_problem(1, 1)
    for t, g in zip(tensors, torch_grads, strict=True):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, 0.5)
    for ours, t in zip(grads, tensors, strict=True):
        np.testing.assert_array_equal(ours, t.grad.numpy())
        assert np.max(np.abs(ours)) == 0.5


def test_clipnorm_is_per_array_and_global_clipnorm_is_joint():
    torch = pytest.importorskip("torch")
    params, (grads_per_array,) = random_problem(2, 1)
    _, (grads_global,) = random_problem(2, 1)
    SGD(0.1, clipnorm=1.0).step(pairs([p.copy() for p in params], grads_per_array))
    SGD(0.1, global_clipnorm=1.0).step(pairs([p.copy() for p in params], grads_global))

    _, (raw,) = random_problem(2, 1)
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    for t, g in zip(tensors, raw, strict=True):  # per array: one clip_grad_norm_ call each
        t.grad = torch.tensor(g.copy())
        torch_clip_norm(torch, [t], 1.0)
    assert_close_relative(grads_per_array, [t.grad.numpy() for t in tensors])
    for g, g_raw in zip(grads_per_array, raw, strict=True):
        assert np.linalg.norm(g) == pytest.approx(min(np.linalg.norm(g_raw), 1.0), rel=1e-12)
    assert any(np.linalg.norm(g_raw) > 1.0 for g_raw in raw)  # some array was clipped

    for t, g in zip(tensors, raw, strict=True):  # global: one call over all arrays
        t.grad = torch.tensor(g.copy())
    torch_clip_norm(torch, tensors, 1.0)
    assert_close_relative(grads_global, [t.grad.numpy() for t in tensors])
    assert math.sqrt(sum(np.sum(g**2) for g in grads_global)) == pytest.approx(1.0, rel=1e-12)


def test_global_clipnorm_with_adam_matches_pytorch_over_25_steps():
    torch = pytest.importorskip("torch")
    params, grad_sequence = random_problem(3, 25)
    ours = run_ours(Adam(0.01, global_clipnorm=2.0), params, grad_sequence)
    reference = run_torch(
        torch, "Adam", dict(lr=0.01, eps=1e-7), params, grad_sequence,
        clip=lambda tensors: torch_clip_norm(torch, tensors, 2.0),
    )  # fmt: skip
    assert_close_relative(ours, reference)


def test_clipvalue_is_applied_before_clipnorm():
    grad = np.array([3.0, 0.5])  # value clip → [1, 0.5], then norm clip to 1
    SGD(0.1, clipvalue=1.0, clipnorm=1.0).step([(np.zeros(2), grad)])
    np.testing.assert_allclose(grad, np.array([1.0, 0.5]) / math.sqrt(1.25), rtol=1e-15)


# --- bookkeeping: state, shapes, learning rate, ops --------------------------------------------

STATEFUL = [
    lambda: SGD(0.1),
    lambda: SGD(0.1, momentum=0.9, nesterov=True),
    lambda: RMSprop(0.01, momentum=0.9, centered=True),
    lambda: Adam(0.01, amsgrad=True, clipnorm=1.0),
    lambda: AdamW(schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5)),
]


@pytest.mark.parametrize("make", STATEFUL)
def test_state_dict_round_trip_resumes_exactly(make):
    params, grad_sequence = random_problem(4, 10)
    uninterrupted = run_ours(make(), params, grad_sequence)

    first = make()
    halfway = run_ours(first, params, grad_sequence[:5])
    saved = first.state_dict()
    json.dumps({key: value for key, value in saved.items() if key != "state"})  # JSON-able
    assert saved["iterations"] == 5

    fresh = optimizers.get(saved["class_name"])  # default hyperparameters until loaded
    fresh.load_state_dict(saved)
    assert fresh.get_config() == first.get_config()
    for buffers in saved["state"]:  # the optimizer owns copies, not the saved arrays
        for buffer in buffers.values():
            buffer += 1000.0
    resumed = run_ours(fresh, halfway, grad_sequence[5:])
    for a, b in zip(resumed, uninterrupted, strict=True):
        np.testing.assert_array_equal(a, b)


def test_state_is_a_list_aligned_with_the_pairs():
    opt = Adam()
    params = [np.ones((2, 2)), np.ones(3)]
    opt.step(pairs(params, [np.ones((2, 2)), np.ones(3)]))
    state = opt.state_dict()
    assert state["shapes"] == [[2, 2], [3]]
    assert [sorted(s) for s in state["state"]] == [["exp_avg", "exp_avg_sq"]] * 2
    assert SGD().state_dict()["state"] == []  # lazily built: nothing before the first step


def test_load_state_dict_validates():
    opt = Adam(amsgrad=True)
    opt.step([(np.ones(3), np.ones(3))])
    good = opt.state_dict()

    with pytest.raises(ValueError, match=r"missing keys.*iterations"):
        Adam().load_state_dict({k: v for k, v in good.items() if k != "iterations"})
    with pytest.raises(ValueError, match="for Adam, not SGD"):
        SGD().load_state_dict(good)
    bad = {**good, "state": [{"exp_avg": np.ones(3), "exp_avg_sq": np.ones(3)}]}
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        Adam().load_state_dict(bad)
    bad_shape = dict(good["state"][0], exp_avg=np.ones(4))
    with pytest.raises(ValueError, match=r"expected a float array of shape \(3,\)"):
        Adam().load_state_dict({**good, "state": [bad_shape]})
    with pytest.raises(ValueError, match="-1"):
        Adam().load_state_dict({**good, "iterations": -1})


def test_state_follows_each_array_and_a_new_array_starts_fresh():
    opt = SGD(0.1, momentum=0.9)
    first, second = np.ones(3), np.ones(2)
    opt.step([(first, np.ones(3))])
    opt.step([(first, np.ones(3)), (second, np.ones(2))])  # e.g. a layer unfrozen
    steps = opt.state_dict([first, second])["steps"]
    assert steps == [2, 1]  # the new array took its first step (momentum buffer = grad)
    np.testing.assert_allclose(second, 1 - 0.1)
    np.testing.assert_allclose(first, 1 - 0.1 - 0.1 * (0.9 + 1))


def test_a_loaded_state_must_fit_the_arrays_it_is_given():
    opt = SGD(momentum=0.9)
    opt.step([(np.ones((2, 3)), np.ones((2, 3)))])
    with pytest.raises(ValueError, match=r"Gradient 0 has shape"):
        SGD().step([(np.ones(3), np.ones(4))])
    # plain SGD keeps no buffers, but a loaded state still remembers the shapes
    plain = SGD()
    plain.step([(np.ones(2), np.ones(2))])
    other = SGD()
    other.load_state_dict(plain.state_dict())
    with pytest.raises(ValueError, match=r"loaded for parameters of shapes \[\(2,\)\]"):
        other.step([(np.ones(5), np.ones(5))])
    with pytest.raises(ValueError, match=r"holds shapes \[\(2, 3\)\]"):
        SGD(momentum=0.9).load_state_dict(opt.state_dict(), params=[np.ones(4)])


def test_float32_parameters_stay_float32():
    param = np.ones(4, dtype=np.float32)
    opt = Adam(0.1)
    for _ in range(3):
        opt.step([(param, np.full(4, 0.5, dtype=np.float32))])
    assert param.dtype == np.float32
    assert all(b.dtype == np.float32 for b in opt.state_dict()["state"][0].values())


def test_zero_grad_and_iterations():
    grads = [np.ones(3), np.ones((2, 2))]
    opt = SGD()
    opt.step(pairs([np.zeros(3), np.zeros((2, 2))], grads))
    opt.zero_grad(pairs([np.zeros(3), np.zeros((2, 2))], grads))
    assert opt.iterations == 1
    assert all(np.all(g == 0) for g in grads)


def test_learning_rate_can_be_read_and_replaced():
    opt = Adam(schedules.StepDecay(0.1, decay_steps=2, decay_rate=0.5))
    param = np.zeros(1)
    seen = []
    for _ in range(5):
        seen.append(opt.learning_rate)
        opt.step([(param, np.ones(1))])
    assert seen == [0.1, 0.1, 0.05, 0.05, 0.025]
    opt.learning_rate = 0.01  # what a callback does
    assert opt.learning_rate == 0.01
    assert opt.get_config()["learning_rate"] == 0.01
    with pytest.raises(ValueError, match="-1"):
        opt.learning_rate = -1


def test_schedule_drives_the_sgd_step_size():
    # lr = 1, 0.5, 0.25 on steps 0, 1, 2; grad 1 each time → param = −1.75
    opt = SGD(schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    p = one_param_run(opt, [0.0], [[1.0], [1.0], [1.0]])
    assert p[0] == -1.75


def test_ops_module_can_be_swapped():
    calls = []

    def spy(name):
        def wrapper(*args):
            calls.append(name)
            return getattr(numpy_optim, name)(*args)

        return wrapper

    names = ["adam_update", "clip_by_value", "clip_by_norm", "clip_by_global_norm"]
    opt = Adam(clipvalue=1.0, clipnorm=1.0)
    opt.ops = types.SimpleNamespace(**{name: spy(name) for name in names})
    opt.step([(np.ones(2), np.ones(2)), (np.ones(3), np.ones(3))])
    assert calls == ["clip_by_value"] * 2 + ["clip_by_norm"] * 2 + ["adam_update"] * 2


# --- config, get(), validation ---------------------------------------------------------------


@pytest.mark.parametrize("make", STATEFUL)
def test_config_round_trip(make):
    opt = make()
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    clone = optimizers.get(config)
    assert type(clone) is type(opt)
    assert clone.get_config() == opt.get_config()


def test_get():
    assert isinstance(optimizers.get("Adam"), Adam)
    assert isinstance(optimizers.get("adamw"), AdamW)
    assert optimizers.get("rmsprop").rho == 0.9  # Keras default
    opt = SGD()
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match=r"'nadam'.*\['adam', 'adamw', 'rmsprop', 'sgd'\]"):
        optimizers.get("nadam")
    with pytest.raises(ValueError, match="adamw"):
        optimizers.get(None)
    with pytest.raises(ValueError, match=r"Could not interpret optimizer 3.*sgd"):
        optimizers.get(3)


def test_defaults_follow_keras():
    assert SGD().learning_rate == 0.01
    assert Adam().epsilon == 1e-7
    assert AdamW().weight_decay == 0.004
    assert RMSprop().get_config()["rho"] == 0.9


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: SGD(learning_rate=-0.1), "-0.1"),
        (lambda: SGD(momentum=-0.5), "-0.5"),
        (lambda: SGD(momentum=0.0, nesterov=True), "momentum=0.0"),
        (lambda: SGD(momentum=0.9, nesterov=True, dampening=0.1), "dampening=0.1"),
        (lambda: SGD(weight_decay=-1e-3), "-0.001"),
        (lambda: RMSprop(rho=1.0), "rho value: 1.0"),
        (lambda: RMSprop(epsilon=-1.0), "-1.0"),
        (lambda: Adam(beta_1=1.0), "beta_1 value: 1.0"),
        (lambda: Adam(beta_2=-0.1), "-0.1"),
        (lambda: AdamW(weight_decay=-0.2), "-0.2"),
        (lambda: Adam(learning_rate="fast"), "'fast'"),
        (lambda: Adam(clipnorm=0), "clipnorm: 0"),
        (lambda: Adam(clipnorm=1.0, global_clipnorm=2.0), "global_clipnorm=2.0"),
    ],
)
def test_bad_hyperparameters_raise_with_the_value(make, bad):
    with pytest.raises(ValueError, match=bad):
        make()
    with pytest.raises(TypeError):
        SGD(momentom=0.9)  # a typo is not silently ignored


def test_variables_are_the_live_state_arrays():
    param, grad = np.ones(3), np.full(3, 0.5)
    opt = Adam(0.1)
    assert opt.variables == []
    opt.step([(param, grad)])
    exp_avg, exp_avg_sq = opt.variables  # Adam's two moments, for its one parameter
    np.testing.assert_allclose(exp_avg, 0.1 * grad)
    np.testing.assert_allclose(exp_avg_sq, 0.001 * grad**2)
    opt.step([(param, grad)])
    np.testing.assert_allclose(exp_avg, 0.19 * grad)  # the same array, updated in place
    assert len(SGD(0.1, momentum=0.9).variables) == 0
