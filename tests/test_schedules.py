"""Learning-rate schedules: closed forms, validation, serialization, use by an optimizer."""

import json
import math

import numpy as np
import pytest

from tinynn import optimizers
from tinynn.optimizers import schedules
from tinynn.optimizers.schedules import CosineDecay, ExponentialDecay, StepDecay


def test_step_decay_closed_form():
    s = StepDecay(0.1, decay_steps=10, decay_rate=0.5)
    for step in [0, 1, 9, 10, 19, 20, 35, 1000]:
        assert s(step) == pytest.approx(0.1 * 0.5 ** (step // 10), rel=1e-15)
    assert s(9) == 0.1
    assert s(10) == 0.05


def test_step_decay_matches_pytorch_steplr():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    steplr = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.7)
    ours = StepDecay(0.1, decay_steps=3, decay_rate=0.7)
    for step in range(12):
        assert ours(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        steplr.step()


def test_exponential_decay_smooth_and_staircase():
    smooth = ExponentialDecay(0.01, decay_steps=100, decay_rate=0.96)
    stairs = ExponentialDecay(0.01, decay_steps=100, decay_rate=0.96, staircase=True)
    for step in [0, 1, 50, 99, 100, 250]:
        assert smooth(step) == pytest.approx(0.01 * 0.96 ** (step / 100), rel=1e-15)
        assert stairs(step) == pytest.approx(0.01 * 0.96 ** (step // 100), rel=1e-15)
    assert stairs(99) == 0.01
    assert stairs(250) == StepDecay(0.01, 100, 0.96)(250)


def test_cosine_decay_without_warmup():
    s = CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(0.1, rel=1e-15)
    # halfway: cos(π/2) = 0 → 0.1·(0.9·0.5 + 0.1) = 0.055
    assert s(50) == pytest.approx(0.055, rel=1e-14)
    assert s(100) == pytest.approx(0.01, rel=1e-14)  # alpha·initial
    assert s(500) == s(100)  # stays at the floor
    step = 30
    expected = 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * step / 100)) + 0.1)
    assert s(step) == pytest.approx(expected, rel=1e-15)


def test_cosine_decay_with_warmup():
    s = CosineDecay(0.0, decay_steps=100, warmup_target=0.2, warmup_steps=10)
    assert s(0) == 0.0
    assert s(5) == pytest.approx(0.1, rel=1e-15)  # linear ramp: 0 + 0.2·5/10
    assert s(10) == pytest.approx(0.2, rel=1e-15)  # decay starts from warmup_target
    assert s(60) == pytest.approx(0.1, rel=1e-14)  # halfway through the decay
    assert s(110) == pytest.approx(0.0, abs=1e-17)
    assert s(10_000) == s(110)


def test_a_schedule_drives_the_optimizer_learning_rate():
    opt = optimizers.Adam(CosineDecay(0.01, decay_steps=4))
    param = np.zeros(2)
    rates = []
    for _ in range(6):
        rates.append(opt.learning_rate)
        opt.step([(param, np.ones(2))])
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * min(t, 4) / 4)) for t in range(6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-15, atol=1e-18)
    assert opt.iterations == 6


@pytest.mark.parametrize(
    "schedule",
    [
        StepDecay(0.1, 5, 0.5),
        ExponentialDecay(0.1, 5, 0.9, staircase=True),
        CosineDecay(0.0, 50, alpha=0.05, warmup_target=0.1, warmup_steps=5),
    ],
)
def test_serialize_round_trip(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["class_name"] == type(schedule).__name__
    clone = schedules.deserialize(config)
    assert clone.get_config() == schedule.get_config()
    assert [clone(t) for t in range(0, 60, 7)] == [schedule(t) for t in range(0, 60, 7)]
    assert schedules.get(config).get_config() == schedule.get_config()
    assert schedules.get(schedule) is schedule


def test_registry_names_and_get_errors():
    assert set(schedules.SCHEDULES) == {
        "StepDecay",
        "ExponentialDecay",
        "CosineDecay",
        "InverseTimeDecay",
        "PolynomialDecay",
        "PiecewiseConstantDecay",
    }
    built = schedules.deserialize({"class_name": "step_decay", "config": {
        "initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}})  # fmt: skip
    assert isinstance(built, StepDecay)
    with pytest.raises(ValueError, match="'CosineDecay', 'ExponentialDecay', 'InverseTimeDecay'"):
        schedules.get({"class_name": "CosineDecayRestarts", "config": {}})
    with pytest.raises(ValueError, match="needs arguments"):
        schedules.get("cosine_decay")
    with pytest.raises(ValueError, match="StepDecay"):
        schedules.get(None)
    with pytest.raises(ValueError, match="class_name"):
        schedules.deserialize({"config": {}})
    with pytest.raises(ValueError, match=r"PolynomialDecay.*does not fit.*decay_steps"):
        schedules.get({"class_name": "PolynomialDecay", "config": {"initial_learning_rate": 1}})


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: StepDecay(-0.1, 10, 0.5), "-0.1"),
        (lambda: StepDecay(0.1, 0, 0.5), "decay_steps: 0"),
        (lambda: StepDecay(0.1, 2.5, 0.5), "decay_steps: 2.5"),
        (lambda: ExponentialDecay(0.1, 10, 0.0), "decay_rate: 0.0"),
        (lambda: ExponentialDecay(0.1, -3, 0.9), "-3"),
        (lambda: CosineDecay(0.1, 10, alpha=1.5), "alpha: 1.5"),
        (lambda: CosineDecay(0.1, 10, warmup_target=-1.0), "warmup_target: -1.0"),
        (lambda: CosineDecay(0.1, 10, warmup_steps=-2), "warmup_steps: -2"),
        (lambda: StepDecay(0.1, 10, 0.5)(-1), "step: -1"),
    ],
)
def test_bad_arguments_raise_with_the_value(make, bad):
    with pytest.raises(ValueError, match=bad):
        make()


# --- Keras's other schedules, against their formulas written out ---------------------------


def test_keras_spellings_are_reachable_from_optimizers():
    import tinynn

    assert tinynn.optimizers.schedules.ExponentialDecay is ExponentialDecay
    assert tinynn.schedules is tinynn.optimizers.schedules


def test_inverse_time_decay():
    from tinynn.optimizers.schedules import InverseTimeDecay

    smooth = InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert smooth(15) == pytest.approx(0.1 / (1 + 0.5 * 1.5))
    stairs = InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert stairs(15) == pytest.approx(0.1 / (1 + 0.5 * 1))


def test_polynomial_decay_with_and_without_cycles():
    from tinynn.optimizers.schedules import PolynomialDecay

    schedule = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(5) == pytest.approx(0.09 * 0.25 + 0.01)
    assert schedule(50) == pytest.approx(0.01)
    cycled = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, cycle=True)
    assert cycled(15) == pytest.approx(0.1 * (1 - 15 / 20))


def test_piecewise_constant_decay_follows_keras_boundaries():
    from tinynn.optimizers.schedules import PiecewiseConstantDecay

    schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [schedule(s) for s in (0, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    assert schedules.deserialize(schedules.serialize(schedule))(15) == 0.5
    with pytest.raises(ValueError, match="one more entry"):
        PiecewiseConstantDecay([10], [1.0])
    with pytest.raises(ValueError, match="must increase"):
        PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1])
