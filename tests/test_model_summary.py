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


def test_summary_shows_the_training_memory_allocated_so_far():
    import numpy as np

    model = small_model()
    before = model.summary(print_fn=None)
    assert "Training memory, as allocated now" in before
    lines = {line.strip().split("  ")[0]: line for line in before.splitlines()[-7:]}
    assert " 0 B" in lines["optimizer state"] and " 0 B" in lines["workspace (buffers, batch)"]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", backend="numpy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 4)), rng.integers(0, 3, 8), batch_size=4, verbose=0)
    after = model.summary(print_fn=None)
    lines = {line.strip().split("  ")[0]: line for line in after.splitlines()[-7:]}
    assert (
        " 0 B" not in lines["optimizer state"]
        and " 0 B" not in lines["activations kept for backward"]
    )
