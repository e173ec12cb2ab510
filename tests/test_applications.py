"""ResNet- and MobileNet-style builders: shapes, options, and that they train."""

import numpy as np
import pytest

from tinynn import applications, gradcheck
from tinynn.datasets import load_digits


def test_resnet_stages_halve_the_resolution_and_double_the_width():
    model = applications.resnet(
        (8, 8, 1), blocks=(1, 1, 1), width=4, include_top=False, pooling=None
    )
    assert model.output_shape == (2, 2, 16)
    projections = [layer.name for layer in model.layers if "projection_conv" in layer.name]
    assert projections == ["stage2_block1_projection_conv", "stage3_block1_projection_conv"]
    top = applications.resnet((8, 8, 1), blocks=(1, 1), width=4, classes=3, seed=0)
    assert top.output_shape == (3,) and top.layers[-1].name == "predictions"


def test_mobilenet_has_inverted_residuals_and_scales_with_alpha():
    model = applications.mobilenet((16, 16, 1), include_top=False, seed=0)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"DepthwiseConv2D", "Add", "ReLU", "BatchNormalization"} <= kinds
    narrow = applications.mobilenet((16, 16, 1), alpha=0.5, include_top=False, seed=0)
    assert narrow.count_params() < model.count_params() / 2
    assert model.output_shape == (128,)


def test_builders_check_their_arguments():
    with pytest.raises(ValueError, match="positive number of blocks"):
        applications.resnet(blocks=(1, 0))
    with pytest.raises(ValueError, match="alpha must be positive"):
        applications.mobilenet(alpha=0)
    with pytest.raises(ValueError, match="pooling must be 'avg' or None"):
        applications.resnet(pooling="max")


def test_a_small_resnet_gradchecks_and_learns_digits():
    x, y = load_digits()
    x = x.reshape(-1, 8, 8, 1)[:600]
    y = y[:600]
    tiny = applications.resnet((8, 8, 1), blocks=(1, 1), width=2, classes=3, seed=0)
    tiny.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert gradcheck.check_model(tiny, x[:2].astype(np.float64), y[:2] % 3).passed(1e-5)
    model = applications.resnet((8, 8, 1), blocks=(1, 1), width=12, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.5
