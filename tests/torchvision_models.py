"""torchvision's model definitions in the tests, beside the CPU build of PyTorch.

torchvision's wheels link their compiled operators against CUDA libraries that the CPU build
of PyTorch does not ship, so ``import torchvision`` stops while registering the schema of
``torchvision::nms`` (and ``qnms``), the two registrations not guarded by a check that the
operators loaded. Defining those two schemas (no kernels) first lets the import finish; the
classification models use only ``torch.nn`` and never call them. Where torchvision imports
normally, nothing is defined.
"""

from __future__ import annotations

import sys

import pytest

_LIBRARY = None  # must stay alive: the schemas are unregistered when it is collected


def import_torchvision():
    """The torchvision module, or a pytest skip naming what is missing."""
    global _LIBRARY
    torch = pytest.importorskip("torch", reason="torch is not installed")
    try:
        import torchvision
    except ImportError:
        pytest.skip("torchvision is not installed")
    except RuntimeError as error:
        if "torchvision::nms" not in str(error):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]  # forget the half-imported package
        _LIBRARY = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            _LIBRARY.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision
    return torchvision
