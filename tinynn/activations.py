"""Activation functions: each class holds its maths, and is the one table of formulas.

    act = Sigmoid()
    y = act.forward(x)          # y = 1 / (1 + e^−x), cached for backward
    dx = act.backward(dy)       # dL/dx = dL/dy · y (1 − y)

``forward`` and ``backward`` are the reference: a layer running on NumPy calls exactly these
lines, and the Numba kernels (``tinynn.kernels.numba_ops``) are accelerated twins tested
against them. Every derivative is written from the output y, so the cache is one array (as
scikit-learn's ``_base.py`` does). Both methods take an optional ``out`` array to write into,
which may be the input itself; a layer uses that to work in place.

Each class also states its formula for the exporters: ``c_formula`` (a C statement computing y
from x, for ``tinynn export --format c``) and ``onnx`` (the ONNX operators, for
``--format onnx``). A parity test runs every activation through training, ``predict``, the
runtime, C and ONNX and requires them to agree, so the copies cannot drift apart.

To write your own, subclass ``ActivationFunction`` and implement ``forward(x)`` and
``backward(grad_y)``; layers call your methods as written. This module imports only NumPy, so
the NumPy-only runtime (``tinynn.runtime``) uses these same classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.registry import Registry


class ActivationFunction:
    """Base class: ``forward(x, out=None) -> y`` and ``backward(grad_y, out=None) -> dL/dx``.

    Attributes:
        y: the output cached by the last ``forward`` (built-in activations).
        alpha: leaky ReLU's slope or ELU's scale; 0 for the others (kernels read it).
        c_formula: a C statement setting ``y`` from ``x`` ({T} is float or double, {F} libm's
            suffix, ``alpha`` the constant above); None when the formula is not element-wise.
    """

    name = "activation"
    c_formula: str | None = None

    def __init__(self) -> None:
        self.alpha = 0.0
        self.y: np.ndarray | None = None

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_y)")

    def _output(self) -> np.ndarray:
        if self.y is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self.y

    def onnx(self, graph: Any, x: str) -> str:
        """Add the ONNX nodes computing y from the tensor named x; return y's name."""
        raise ValueError(f"{type(self).__name__} has no ONNX form")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ActivationFunction:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Linear(ActivationFunction):
    """y = x;  dL/dx = dL/dy."""

    name = "linear"
    c_formula = "y = x;"

    def forward(self, x, out=None):
        y = np.array(x, copy=True) if out is None else out
        if y is not x:
            y[...] = x
        self.y = y
        return y

    def backward(self, grad_y, out=None):
        dx = np.array(grad_y, copy=True) if out is None else out
        if dx is not grad_y:
            dx[...] = grad_y
        return dx

    def onnx(self, graph, x):
        return x


class Sigmoid(ActivationFunction):
    """y = 1 / (1 + e^−x);  dL/dx = dL/dy · y (1 − y).

    Saturates: the slope is at most 1/4 and vanishes for large |x|.
    """

    name = "sigmoid"
    c_formula = "{T} e = exp{F}(-fabs{F}(x)); y = x >= 0 ? 1 / (1 + e) : e / (1 + e);"

    def forward(self, x, out=None):
        # The same function in a stable form: with e = e^−|x| ≤ 1, y = 1 / (1 + e) for x ≥ 0
        # and e / (1 + e) for x < 0. No exponent is ever positive (e^−x overflows at x = −1e4),
        # and tiny outputs stay accurate: y(−20) = 2.06e−9 in float32, where the tempting
        # (1 + tanh(x/2)) / 2 cancels to 0.
        e = np.exp(-np.abs(x))
        self.y = np.divide(np.where(x >= 0, 1, e), 1 + e, out=out)
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        return np.multiply(grad_y, y * (1 - y), out=out)

    def onnx(self, graph, x):
        # onnxruntime's own Sigmoid loses all precision below x ≈ −15, so spell out ours.
        e = graph.op("Exp", graph.op("Neg", graph.op("Abs", x)))
        one_plus_e = graph.op("Add", graph.const(1.0), e)
        positive = graph.op("Div", graph.const(1.0), one_plus_e)
        negative = graph.op("Div", e, one_plus_e)
        x_positive = graph.op("GreaterOrEqual", x, graph.const(0.0))
        return graph.op("Where", x_positive, positive, negative)


class Tanh(ActivationFunction):
    """y = tanh(x);  dL/dx = dL/dy · (1 − y²). Zero-centred, but saturates like the sigmoid."""

    name = "tanh"
    c_formula = "y = tanh{F}(x);"

    def forward(self, x, out=None):
        self.y = np.tanh(x, out=out)
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        return np.multiply(grad_y, 1 - y * y, out=out)

    def onnx(self, graph, x):
        return graph.op("Tanh", x)


class ReLU(ActivationFunction):
    """y = max(x, 0);  dL/dx = dL/dy where y > 0, else 0 (0 at x = 0, as PyTorch takes it)."""

    name = "relu"
    c_formula = "y = x > 0 ? x : 0;"

    def forward(self, x, out=None):
        self.y = np.maximum(x, 0, out=out)
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        return np.multiply(grad_y, y > 0, out=out)

    def onnx(self, graph, x):
        return graph.op("Relu", x)


class ReLU6(ActivationFunction):
    """y = min(max(x, 0), 6);  dL/dx = dL/dy where 0 < y < 6, else 0. MobileNet's activation:
    bounded outputs survive low-precision arithmetic well."""

    name = "relu6"
    c_formula = "y = x > 0 ? (x < 6 ? x : 6) : 0;"

    def forward(self, x, out=None):
        self.y = np.clip(x, 0, 6, out=out)
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        return np.multiply(grad_y, (y > 0) & (y < 6), out=out)

    def onnx(self, graph, x):
        return graph.op("Clip", x, graph.const(0.0), graph.const(6.0))


class LeakyReLU(ActivationFunction):
    """y = x if x > 0 else alpha·x;  dL/dx = dL/dy · (1 if y > 0 else alpha).

    alpha > 0 keeps sign(y) = sign(x), so the slope can be read from y. Keras's default: 0.2.
    """

    name = "leaky_relu"
    c_formula = "y = x > 0 ? x : alpha * x;"

    def __init__(self, alpha: float = 0.2) -> None:
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"leaky_relu alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)

    def forward(self, x, out=None):
        self.y = _into(out, np.where(x > 0, x, self.alpha * x))
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        return _into(out, np.where(y > 0, grad_y, self.alpha * grad_y))

    def onnx(self, graph, x):
        return graph.op("LeakyRelu", x, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class ELU(ActivationFunction):
    """y = x if x > 0 else alpha·(e^x − 1);  dL/dx = dL/dy · (1 if y > 0 else y + alpha).

    For x ≤ 0 the slope alpha·e^x equals y + alpha. Default alpha = 1.
    """

    name = "elu"
    c_formula = "y = x > 0 ? x : alpha * expm1{F}(x);"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"elu alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)

    def forward(self, x, out=None):
        # expm1 keeps precision near 0; min(x, 0) keeps e^x from overflowing on the side
        # that ``where`` throws away anyway.
        negative = self.alpha * np.expm1(np.minimum(x, 0))
        self.y = _into(out, np.where(x > 0, x, negative))
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        return np.multiply(grad_y, np.where(y > 0, 1, y + self.alpha), out=out)

    def onnx(self, graph, x):
        # alpha·expm1(min(x, 0)) where x ≤ 0. ONNX has no expm1 (and onnxruntime no float64
        # Elu), and e^x − 1 loses x near 0, so there expm1 is (u − 1)·x / log(u) with u = e^x
        # (Kahan's trick; x itself where u rounds to 1). Below u = 1/2, u − 1 is accurate.
        m = graph.op("Min", x, graph.const(0.0))
        u = graph.op("Exp", m)
        u_minus_1 = graph.op("Sub", u, graph.const(1.0))
        near_zero = graph.op("Greater", u, graph.const(0.5))
        log_u = graph.op("Log", graph.op("Where", near_zero, u, graph.const(0.5)))
        safe_log = graph.op(
            "Where", graph.op("Equal", log_u, graph.const(0.0)), graph.const(1.0), log_u
        )
        kahan = graph.op("Div", graph.op("Mul", u_minus_1, m), safe_log)
        kahan = graph.op("Where", graph.op("Equal", u, graph.const(1.0)), m, kahan)
        expm1 = graph.op("Where", near_zero, kahan, u_minus_1)
        negative = graph.op("Mul", graph.const(self.alpha), expm1)
        return graph.op("Where", graph.op("Greater", x, graph.const(0.0)), x, negative)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Softplus(ActivationFunction):
    """y = log(1 + e^x);  dL/dx = dL/dy · σ(x) = dL/dy · (1 − e^−y)."""

    name = "softplus"
    c_formula = "y = (x > 0 ? x : 0) + log1p{F}(exp{F}(-fabs{F}(x)));"

    def forward(self, x, out=None):
        # log(1 + e^x) = max(x, 0) + log(1 + e^−|x|): the exponent is never positive.
        self.y = np.add(np.maximum(x, 0), np.log1p(np.exp(-np.abs(x))), out=out)
        return self.y

    def backward(self, grad_y, out=None):
        y = self._output()
        # σ(x) = 1 − e^−y, as −expm1(−y) so that it keeps its precision when y is tiny.
        return np.multiply(grad_y, -np.expm1(-y), out=out)

    def onnx(self, graph, x):
        # max(x, 0) + log1p(e^−|x|). ONNX has no log1p, and log(1 + e) loses e when it is
        # tiny, so log1p(e) is computed as log(u) · e / (u − 1) with u = 1 + e (Kahan's trick),
        # and as e itself where u rounds to 1. onnxruntime has no float64 Softplus either.
        e = graph.op("Exp", graph.op("Neg", graph.op("Abs", x)))
        u = graph.op("Add", graph.const(1.0), e)
        u_minus_1 = graph.op("Sub", u, graph.const(1.0))
        safe = graph.op("Where", graph.op("Equal", u_minus_1, graph.const(0.0)), e, u_minus_1)
        kahan = graph.op("Div", graph.op("Mul", graph.op("Log", u), e), safe)
        log1p_e = graph.op("Where", graph.op("Equal", u, graph.const(1.0)), e, kahan)
        return graph.op("Add", graph.op("Relu", x), log1p_e)


class Softmax(ActivationFunction):
    """y_i = e^x_i / Σ_j e^x_j over the last axis;  dL/dx = y ⊙ (dL/dy − Σ_j dL/dy_j · y_j).

    Followed by categorical cross-entropy, a model folds it into the loss instead (see
    ``tinynn.losses``): the combined gradient is simply (p − y) / N.
    """

    name = "softmax"
    #: Not element-wise, so a whole C function over rows of length ``row``: the same three
    #: steps as ``forward`` ({P} is the exporter's prefix).
    c_formula = None
    c_function = """\
static inline void {P}_softmax({T} *x, int n, int row)
{{
    for (int start = 0; start < n; start += row) {{
        {T} *r = x + start;
        {T} max = r[0], sum = 0;
        for (int i = 1; i < row; ++i)
            max = r[i] > max ? r[i] : max;
        for (int i = 0; i < row; ++i) {{
            r[i] = exp{F}(r[i] - max);
            sum += r[i];
        }}
        for (int i = 0; i < row; ++i)
            r[i] /= sum;
    }}
}}
"""

    def forward(self, x, out=None):
        # Subtracting the row maximum changes nothing mathematically but keeps every
        # exponent ≤ 0, so logits of 1e4 give 1.0 instead of inf / inf = NaN.
        # (The array methods x.max and y.sum: for one sample, np.max's dispatch costs more
        # than the arithmetic.)
        y = np.subtract(x, x.max(axis=-1, keepdims=True), out=out)
        np.exp(y, out=y)
        y /= y.sum(axis=-1, keepdims=True)
        self.y = y
        return y

    def backward(self, grad_y, out=None):
        y = self._output()
        dot = np.sum(grad_y * y, axis=-1, keepdims=True)
        return np.multiply(y, grad_y - dot, out=out)

    def onnx(self, graph, x):
        return graph.op("Softmax", x, axis=-1)


def _into(out: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """y, or y copied into ``out`` when one is given (``np.where`` has no ``out=``)."""
    if out is None:
        return y
    out[...] = y
    return out


ACTIVATIONS = Registry(
    "activation",
    {
        cls.name: cls
        for cls in (Linear, Sigmoid, Tanh, ReLU, ReLU6, LeakyReLU, ELU, Softplus, Softmax)
    },
    base=ActivationFunction,
)

register = ACTIVATIONS.register
serialize = ACTIVATIONS.serialize


def get(identifier: Any) -> ActivationFunction:
    """An activation from None (linear), a name ("relu", "ReLU"), a dict, or an instance.

    Instances are returned as they are; names give a fresh object, so two layers never share
    one cache.
    """
    return Linear() if identifier is None else ACTIVATIONS.resolve(identifier)


def is_builtin(activation: ActivationFunction) -> bool:
    """True for the classes above (not subclasses): their methods accept ``out``, and a
    compiled backend may run its twin of them."""
    return ACTIVATIONS.is_builtin(activation)
