"""Data augmentation as layers (Keras 3 style), plus ``augment`` for notebooks.

Each layer draws a fresh random transform per image, from ``self.rng`` (seed the layer or its
model for repeatable runs), when called with ``training=True``; with ``training=False``, as in
``evaluate`` and ``predict``, it is the identity (``RandomCrop``: a center crop). Put them at
the start of a model, so training sees new variants of the images at every epoch.

Backward: flips, crops and noise have exact gradients (flip back, paste into the window,
identity). Rotation, zoom and translation resample with interpolation; their adjoint is not
provided, so after a random transform their backward returns None ("no input gradient"),
which the augmentation layers before them pass on. That is all a model needs when they come
first, where nothing asks for dL/dx. The geometry uses ``scipy.ndimage`` (imported on first
use: ``pip install scipy``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.layers.conv import check_image_shape
from tinynn.layers.layer import Layer, Shape

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
#: Keras fill mode -> scipy.ndimage mode ("grid-" modes treat the image as pixel cells).
FILL_MODES = {
    "reflect": "reflect",
    "wrap": "grid-wrap",
    "constant": "grid-constant",
    "nearest": "nearest",
}
INTERPOLATIONS = {"nearest": 0, "bilinear": 1}


def _factor_range(factor: Any, name: str, low: float = -np.inf, high: float = np.inf):
    """f -> (−f, f); (lo, hi) stays; both ends checked against [low, high]."""
    if isinstance(factor, int | float | np.number):
        pair = (-abs(float(factor)), abs(float(factor)))
    else:
        try:
            pair = tuple(float(v) for v in factor)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a float or a pair (lower, upper), got {factor!r}"
            ) from None
        if len(pair) != 2 or pair[0] > pair[1]:
            raise ValueError(
                f"{name} must be a pair (lower, upper) with lower ≤ upper, got {factor!r}"
            )
    if pair[0] < low or pair[1] > high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got {factor!r}")
    return pair


class _Augmentation(Layer):
    """Identity unless training; subclasses implement ``_augment`` and ``_augment_backward``."""

    #: Constructor arguments that ``get_config`` records (tuples are stored as lists).
    config_keys: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._applied = False

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return check_image_shape(self, input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self._applied = bool(training)
        return self._augment(x) if training else x

    def backward(self, grad_output: np.ndarray | None) -> np.ndarray | None:
        if grad_output is None or not self.compute_input_grad:
            return None
        if not self._applied:
            return grad_output
        return self._augment_backward(np.asarray(grad_output, dtype=self.dtype))

    def _augment_backward(self, grad: np.ndarray) -> np.ndarray | None:
        return None  # resampling: no input gradient (see the module docstring)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in self.config_keys:
            value = getattr(self, key)
            config[key] = list(value) if isinstance(value, tuple) else value
        return config


class RandomFlip(_Augmentation):
    """Flip each image left-right ("horizontal"), up-down ("vertical") or both, each with
    probability 1/2. x, y (batch, H, W, C). Backward flips the gradient the same way."""

    config_keys = ("mode",)

    def __init__(self, mode: str = "horizontal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in FLIP_MODES:
            raise ValueError(f"RandomFlip mode must be one of {FLIP_MODES}, got {mode!r}")
        self.mode = mode
        self._flips: list[tuple[np.ndarray, int]] = []

    def _augment(self, x: np.ndarray) -> np.ndarray:
        self._flips = []
        for word, axis in (("horizontal", 2), ("vertical", 1)):
            if word in self.mode:
                self._flips.append((self.rng.random(len(x)) < 0.5, axis))
        return self._flip(x)

    def _flip(self, x: np.ndarray) -> np.ndarray:
        y = x.copy()
        for chosen, axis in self._flips:
            y[chosen] = np.flip(y[chosen], axis=axis)
        return y

    _augment_backward = _flip  # a flip is its own inverse, and the two flips commute


class _RandomAffine(_Augmentation):
    """Resample each image at in = A (out − c) + c − t (c the center) with scipy.ndimage."""

    config_keys = ("fill_mode", "interpolation", "fill_value")

    def __init__(self, fill_mode="reflect", interpolation="bilinear", fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {sorted(FILL_MODES)}, got {fill_mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}"
            )
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def _sample(self, n: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """A (n, 2, 2) acting on (row, column) coordinates and shifts t (n, 2) in pixels."""
        raise NotImplementedError

    def _augment(self, x: np.ndarray) -> np.ndarray:
        from scipy import ndimage

        n, height, width, _ = x.shape
        matrices, shifts = self._sample(n, height, width)
        center = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
        y = np.empty_like(x)
        for i in range(n):
            matrix = np.eye(3)
            matrix[:2, :2] = matrices[i]  # the channel axis maps to itself
            offset = np.zeros(3)
            offset[:2] = center - matrices[i] @ center - shifts[i]
            ndimage.affine_transform(
                x[i],
                matrix,
                offset,
                output=y[i],
                order=INTERPOLATIONS[self.interpolation],
                mode=FILL_MODES[self.fill_mode],
                cval=self.fill_value,
            )
        return y


class RandomRotation(_RandomAffine):
    """Rotate each image about its center by an angle drawn from factor·2π.

    ``factor``: f means [−f, f] (0.1 is ±36°), or a pair (lower, upper); positive angles turn
    the image counter-clockwise. Pixels from outside are filled by ``fill_mode``.
    """

    config_keys = (*_RandomAffine.config_keys, "factor")

    def __init__(self, factor: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = _factor_range(factor, "factor")

    def _sample(self, n, height, width):
        theta = 2.0 * np.pi * self.rng.uniform(*self.factor, size=n)
        cos, sin = np.cos(theta), np.sin(theta)
        return np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1), np.zeros((n, 2))


class RandomZoom(_RandomAffine):
    """Zoom each image about its center by 1 + z, z drawn from the factor range.

    As in Keras, a positive z zooms *out* (the content shrinks), a negative one zooms in; f
    means [−f, f]. ``width_factor`` None keeps the aspect ratio (one z for both axes).
    """

    config_keys = (*_RandomAffine.config_keys, "height_factor", "width_factor")

    def __init__(self, height_factor: Any, width_factor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_factor = _factor_range(height_factor, "height_factor", low=-1.0)
        self.width_factor = (
            None if width_factor is None else _factor_range(width_factor, "width_factor", -1.0)
        )

    def _sample(self, n, height, width):
        zoom_h = 1.0 + self.rng.uniform(*self.height_factor, size=n)
        zoom_w = zoom_h
        if self.width_factor is not None:
            zoom_w = 1.0 + self.rng.uniform(*self.width_factor, size=n)
        matrices = np.zeros((n, 2, 2))
        matrices[:, 0, 0], matrices[:, 1, 1] = zoom_h, zoom_w
        return matrices, np.zeros((n, 2))


class RandomTranslation(_RandomAffine):
    """Shift each image by (dy, dx) = (fh·H, fw·W) pixels, fh and fw drawn from the factor
    ranges (f means [−f, f]); positive values move the content down and right."""

    config_keys = (*_RandomAffine.config_keys, "height_factor", "width_factor")

    def __init__(self, height_factor: Any, width_factor: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_factor = _factor_range(height_factor, "height_factor", -1.0, 1.0)
        self.width_factor = _factor_range(width_factor, "width_factor", -1.0, 1.0)

    def _sample(self, n, height, width):
        down = self.rng.uniform(*self.height_factor, size=n) * height
        right = self.rng.uniform(*self.width_factor, size=n) * width
        return np.broadcast_to(np.eye(2), (n, 2, 2)), np.stack([down, right], -1)


class RandomCrop(_Augmentation):
    """Zero-pad each side by ``padding`` pixels, then cut a random (height, width) window.

    x (batch, H, W, C) -> y (batch, height, width, C). Inference takes the center window, the
    identity when (height, width) = (H, W) (Keras instead resizes; we never interpolate here).
    ``RandomCrop(32, 32, padding=4)`` is the classic CIFAR-10 augmentation. Backward pastes the
    gradient back into each image's window; the padding's share is dropped.
    """

    config_keys = ("height", "width", "padding")

    def __init__(self, height: int, width: int, padding: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value, smallest in (
            ("height", height, 1),
            ("width", width, 1),
            ("padding", padding, 0),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or value < smallest
            ):
                raise ValueError(
                    f"RandomCrop {name} must be an integer ≥ {smallest}, got {value!r}"
                )
        self.height, self.width, self.padding = int(height), int(width), int(padding)
        self._corners: np.ndarray | None = None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        h, w, channels = check_image_shape(self, input_shape)
        if self.height > h + 2 * self.padding or self.width > w + 2 * self.padding:
            raise ValueError(
                f"{self.name}: cannot crop ({self.height}, {self.width}) from images "
                f"({h}, {w}) padded by {self.padding}; use a smaller crop or more padding"
            )
        return (self.height, self.width, channels)

    def _room(self) -> tuple[int, int]:
        h, w, _ = self.input_shape
        return h + 2 * self.padding - self.height, w + 2 * self.padding - self.width

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        room_h, room_w = self._room()
        if training:
            tops = self.rng.integers(0, room_h + 1, len(x))
            corners = np.stack([tops, self.rng.integers(0, room_w + 1, len(x))], -1)
        else:
            corners = np.tile([room_h // 2, room_w // 2], (len(x), 1))
        self._corners, self._applied = corners, True
        p = self.padding
        padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        y = np.empty((len(x), *self.output_shape), dtype=self.dtype)
        for i, (top, left) in enumerate(corners):
            y[i] = padded[i, top : top + self.height, left : left + self.width]
        return y

    def _augment_backward(self, grad: np.ndarray) -> np.ndarray:
        h, w, channels = self.input_shape
        p = self.padding
        padded = np.zeros((len(grad), h + 2 * p, w + 2 * p, channels), dtype=self.dtype)
        for i, (top, left) in enumerate(self._corners):
            padded[i, top : top + self.height, left : left + self.width] = grad[i]
        return padded[:, p : p + h, p : p + w]


class GaussianNoise(_Augmentation):
    """y = x + ε, ε ~ N(0, stddev²) drawn per value while training; any input shape.
    Backward: dL/dx = dL/dy."""

    config_keys = ("stddev",)

    def __init__(self, stddev: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not float(stddev) >= 0.0:
            raise ValueError(f"GaussianNoise stddev must be ≥ 0, got {stddev!r}")
        self.stddev = float(stddev)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def _augment(self, x: np.ndarray) -> np.ndarray:
        return x + self.rng.normal(0.0, self.stddev, size=x.shape).astype(self.dtype)

    def _augment_backward(self, grad: np.ndarray) -> np.ndarray:
        return grad


def augment(
    images: np.ndarray,
    seed: int | None = None,
    flip: str | None = None,
    rotation: Any = 0.0,
    zoom: Any = 0.0,
    translation: Any = 0.0,
    crop: tuple[int, int] | None = None,
    crop_padding: int = 0,
    noise: float = 0.0,
    fill_mode: str = "reflect",
) -> np.ndarray:
    """Randomly augmented copies of images (N, H, W, C), e.g. to look at in a notebook.

    Applies, in this order and each only if asked: ``RandomFlip(flip)``,
    ``RandomRotation(rotation)``, ``RandomZoom(zoom)``, ``RandomTranslation(translation,
    translation)``, ``RandomCrop(*crop, padding=crop_padding)``, ``GaussianNoise(noise)``,
    with training=True and generators spawned from ``seed``.
    """
    images = np.asarray(images)
    dtype = images.dtype if images.dtype in (np.float32, np.float64) else np.float32
    steps: list[Layer] = []
    if flip is not None:
        steps.append(RandomFlip(flip))
    affine = {"fill_mode": fill_mode}
    if np.any(rotation):
        steps.append(RandomRotation(rotation, **affine))
    if np.any(zoom):
        steps.append(RandomZoom(zoom, **affine))
    if np.any(translation):
        steps.append(RandomTranslation(translation, translation, **affine))
    if crop is not None:
        steps.append(RandomCrop(*crop, padding=crop_padding))
    if noise:
        steps.append(GaussianNoise(noise))
    streams = np.random.SeedSequence(seed).spawn(len(steps))
    x = images.astype(dtype)
    for layer, stream in zip(steps, streams, strict=True):
        layer.dtype, layer.rng = np.dtype(dtype), np.random.default_rng(stream)
        x = layer.forward(x, training=True)
    return x
