"""Bring in models you already have: from PyTorch modules and from Keras ``.keras`` files.

    from tinynn.convert import from_torch, from_keras
    model = from_torch(torchvision.models.resnet18(), input_shape=(3, 224, 224))
    model = from_keras("mobilenet_v2.keras")

tinynn never downloads weights; these read the weights a user already has. The result is a
functional tinynn model (images NHWC), ready for ``predict``, ``fit`` (fine-tuning), ``summary``,
``save`` and export. PyTorch, and h5py for Keras files, are imported only when called.
"""

from tinynn.convert.keras_archive import from_keras
from tinynn.convert.torch_graph import from_torch
from tinynn.convert.torch_modules import UnsupportedError

__all__ = ["UnsupportedError", "from_keras", "from_torch"]
