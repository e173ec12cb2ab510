"""Weight initializers: how a layer's parameters are drawn before training.

Each initializer is a small class called as ``init(shape, dtype, rng)`` that returns a new array.
The fan-in/fan-out scaled ones keep the variance of activations (Glorot, LeCun) or of ReLU
activations (He) roughly constant from layer to layer, which is what lets deep stacks train.
For a Dense kernel of shape (n_in, n_out), fan_in = n_in and fan_out = n_out; for convolution
kernels (kh, kw, c_in, c_out) both are multiplied by the receptive field kh·kw, as in Keras.

``rng`` is a ``numpy.random.Generator`` owned by the caller (the layer), so seeding is explicit:
an initializer built with its own ``seed`` uses that instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynn.registry import Registry


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of the given shape, following Keras's convention.

    ()                   -> (1, 1)
    (n,)                 -> (n, n)                         a bias or scale vector
    (n_in, n_out)        -> (n_in, n_out)                  a Dense kernel
    (kh, kw, c_in, c_out) -> (kh·kw·c_in, kh·kw·c_out)     a Conv2D kernel (any rank works)
    """
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class. Subclasses implement ``sample(shape, rng) -> float64 array``."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def __call__(
        self,
        shape: tuple[int, ...],
        dtype: Any = np.float32,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        if self.seed is not None or rng is None:
            rng = np.random.default_rng(self.seed)
        if isinstance(shape, int | np.integer):
            shape = (shape,)
        return self.sample(tuple(int(d) for d in shape), rng).astype(dtype, copy=False)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)


class Zeros(Initializer):
    """All zeros: the usual bias initializer."""

    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones: the usual scale (gamma) initializer of normalization layers."""

    def sample(self, shape, rng):
        return np.ones(shape)


class RandomNormal(Initializer):
    """N(mean, stddev²), Keras's defaults mean=0, stddev=0.05."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        if stddev < 0:
            raise ValueError(f"stddev must be >= 0, got {stddev}")
        self.mean = mean
        self.stddev = stddev

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """U(minval, maxval), Keras's defaults minval=−0.05, maxval=0.05."""

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        if not minval <= maxval:
            raise ValueError(f"minval must be <= maxval, got minval={minval}, maxval={maxval}")
        self.minval = minval
        self.maxval = maxval

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class _VarianceScaling(Initializer):
    """Draw with variance scale / fan, from a uniform or a plain normal.

    uniform: U(−limit, limit) with limit = sqrt(3 · scale / fan), whose variance is scale / fan.
    normal:  N(0, scale / fan). (Keras truncates its normal at 2σ and rescales; we keep the plain
    normal, which is what the papers define and what PyTorch's kaiming_normal_ does.)
    """

    scale = 1.0
    mode = "fan_in"
    distribution = "uniform"

    def sample(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, size=shape)
        return rng.normal(0.0, math.sqrt(variance), size=shape)


class GlorotUniform(_VarianceScaling):
    """Glorot & Bengio (2010): U(−a, a), a = sqrt(6 / (fan_in + fan_out)). Dense's default."""

    mode = "fan_avg"


class GlorotNormal(_VarianceScaling):
    """Glorot & Bengio (2010): N(0, 2 / (fan_in + fan_out))."""

    mode = "fan_avg"
    distribution = "normal"


class HeNormal(_VarianceScaling):
    """He et al. (2015), for ReLU: N(0, 2 / fan_in)."""

    scale = 2.0
    distribution = "normal"


class HeUniform(_VarianceScaling):
    """He et al. (2015), for ReLU: U(−a, a), a = sqrt(6 / fan_in)."""

    scale = 2.0


class LecunNormal(_VarianceScaling):
    """LeCun (1998): N(0, 1 / fan_in)."""

    distribution = "normal"


class LecunUniform(_VarianceScaling):
    """LeCun (1998): U(−a, a), a = sqrt(3 / fan_in)."""


INITIALIZERS = Registry(
    "initializer",
    {
        "zeros": Zeros,
        "ones": Ones,
        "random_normal": RandomNormal,
        "random_uniform": RandomUniform,
        "glorot_uniform": GlorotUniform,
        "glorot_normal": GlorotNormal,
        "he_normal": HeNormal,
        "he_uniform": HeUniform,
        "lecun_normal": LecunNormal,
        "lecun_uniform": LecunUniform,
    },
    base=Initializer,
)

register = INITIALIZERS.register
serialize = INITIALIZERS.serialize
name_of = INITIALIZERS.name_of


def get(identifier: Any) -> Initializer:
    """An initializer from a name ("he_normal" or Keras's "HeNormal"), a dict, or an instance."""
    return INITIALIZERS.resolve(identifier)
