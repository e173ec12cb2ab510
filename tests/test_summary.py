"""model.summary(): the table of layers, shapes, parameters and FLOPs."""

import pytest

from tinynn import layers
from tinynn.models import Sequential


def small_model():
    return Sequential(
        [
            layers.Input((4,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )


def test_summary_lists_layers_shapes_params_and_flops():
    model = small_model()
    text = model.summary(print_fn=None)
    assert "dense (Dense)" in text and "dense_1 (Dense)" in text
    assert "(None, 8)" in text and "(None, 3)" in text
    assert "Total params: 67" in text
    assert f"{2 * 4 * 8 + 2 * 8 + 2 * 8 * 3 + 2 * 3:,}" in text


def test_summary_before_input_shape_is_known_explains_what_to_do():
    with pytest.raises(ValueError, match="input shape"):
        Sequential([layers.Dense(3)]).summary(print_fn=None)


def test_summary_prints_through_print_fn():
    lines = []
    small_model().summary(print_fn=lines.append)
    assert len(lines) == 1 and lines[0].startswith('Model: "sequential"')
