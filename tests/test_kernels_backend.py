"""Choosing a backend: names, errors, lazy Numba import, and one interface for both backends."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys

import numpy as np
import pytest

from tinynn.kernels import BACKENDS, get_backend, numpy_ops

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (imports there cannot leak into this process)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_backends_lists_the_valid_names():
    assert BACKENDS == ("auto", "numpy", "numba")


def test_numpy_backend_is_always_available():
    assert get_backend("numpy") is numpy_ops
    assert get_backend("NumPy") is numpy_ops
    assert numpy_ops.NAME == "numpy"


@pytest.mark.parametrize("name", ["torch", "", "numpy ", None, 3])
def test_unknown_backend_is_a_value_error_listing_the_choices(name):
    with pytest.raises(ValueError, match=r"Unknown backend .*'auto', 'numpy', 'numba'"):
        get_backend(name)


@needs_numba
def test_numba_and_auto_give_the_numba_backend():
    backend = get_backend("numba")
    assert backend.NAME == "numba"
    assert backend.__name__ == "tinynn.kernels.numba_ops"
    assert get_backend("auto") is backend
    assert get_backend() is backend


def test_importing_tinynn_does_not_import_numba():
    result = run_python("import sys, tinynn; assert 'numba' not in sys.modules")
    assert result.returncode == 0, result.stderr
    result = run_python(
        "import sys, tinynn; tinynn.kernels.get_backend('numpy');assert 'numba' not in sys.modules"
    )
    assert result.returncode == 0, result.stderr


def test_without_numba_auto_falls_back_and_numba_says_how_to_install_it():
    # sys.modules["numba"] = None makes ``import numba`` raise ImportError, as if absent.
    result = run_python(
        "import sys; sys.modules['numba'] = None\n"
        "from tinynn.kernels import get_backend\n"
        "assert get_backend('auto').NAME == 'numpy'\n"
        "try:\n"
        "    get_backend('numba')\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "pip install numba" in result.stdout


# --- one interface ---------------------------------------------------------------------------


#: What the Numba backend adds: the compiled twins of the classes' own maths.
TWINS_OF_CLASSES = {
    "DenseStack",
    "activation_backward",
    "activation_forward",
    "dense_backward",
    "dense_forward",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
}


@needs_numba
def test_numba_has_every_numpy_name_plus_the_twins_of_the_classes():
    numba_ops = get_backend("numba")
    assert set(numba_ops.__all__) == set(numpy_ops.__all__) | TWINS_OF_CLASSES
    for name in numba_ops.__all__:
        assert hasattr(numba_ops, name), name


def _public_functions(module):
    return {
        name: getattr(module, name)
        for name in module.__all__
        if inspect.isfunction(getattr(module, name))
    }


@needs_numba
def test_shared_names_have_identical_signatures():
    numba_ops = get_backend("numba")
    numpy_functions, numba_functions = _public_functions(numpy_ops), _public_functions(numba_ops)
    for name, function in numpy_functions.items():
        assert inspect.signature(numba_functions[name]) == inspect.signature(function), name


@pytest.mark.parametrize("name", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_optimizer_kernels_are_in_the_backend_and_its_optim_submodule(name):
    backend = get_backend(name)
    assert backend.optim.__name__.startswith(f"{backend.__name__}.update_rules")
    for kernel in ("sgd_update", "rmsprop_update", "adam_update", "clip_by_value",
                   "clip_by_norm", "clip_by_global_norm", "l2_norm", "global_norm"):  # fmt: skip
        assert getattr(backend, kernel) is getattr(backend.optim, kernel)


@pytest.mark.parametrize("name", ["numpy", pytest.param("numba", marks=needs_numba)])
@pytest.mark.parametrize("use_submodule", [False, True])
def test_an_optimizer_runs_on_either_backend_namespace(name, use_submodule):
    from tinynn.optimizers import Adam

    backend = get_backend(name)
    rng = np.random.default_rng(0)
    param, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    expected = param.copy()
    reference = Adam(learning_rate=0.01, clipnorm=0.5)
    reference.step([(expected, grad.copy())])

    optimizer = Adam(learning_rate=0.01, clipnorm=0.5)
    optimizer.ops = backend.optim if use_submodule else backend
    optimizer.step([(param, grad.copy())])
    np.testing.assert_allclose(param, expected, rtol=1e-12)
