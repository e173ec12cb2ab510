"""tinynn.plot: check what each function drew (axes, lines, images, texts), not only that it ran."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import tinynn  # noqa: E402
from tinynn import plot  # noqa: E402
from tinynn.callbacks import History, LayerStatistics  # noqa: E402
from tinynn.layers import Dense  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def line_data(line):
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


# -- plot_history -----------------------------------------------------------------------------


def test_history_dict_draws_one_panel_per_metric_with_train_and_validation():
    logs = {"loss": [3.0, 2.0, 1.0], "val_loss": [4.0, 3.5, 3.0], "accuracy": [0.1, 0.5, 0.9]}
    fig = plot.plot_history(logs)
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    assert loss_ax.get_xlabel() == "epoch"
    assert [line.get_label() for line in loss_ax.lines] == ["train", "validation"]
    np.testing.assert_array_equal(line_data(loss_ax.lines[0])[1], [3, 2, 1])
    np.testing.assert_array_equal(line_data(loss_ax.lines[1])[1], [4, 3.5, 3])
    assert len(acc_ax.lines) == 1
    np.testing.assert_array_equal(line_data(acc_ax.lines[0]), [[0, 1, 2], [0.1, 0.5, 0.9]])


def test_history_object_uses_its_epoch_numbers_and_metric_selection():
    history = History()
    history.history = {"loss": [1.0, 0.5], "accuracy": [0.2, 0.4]}
    history.epoch = [3, 4]  # e.g. fit(..., initial_epoch=3)
    fig = plot.plot_history(history, metrics="loss")
    assert len(fig.axes) == 1
    np.testing.assert_array_equal(line_data(fig.axes[0].lines[0]), [[3, 4], [1.0, 0.5]])


def test_history_rejects_unknown_metric_and_wrong_type():
    with pytest.raises(ValueError, match="precision"):
        plot.plot_history({"loss": [1.0]}, metrics=["precision"])
    with pytest.raises(TypeError, match="History"):
        plot.plot_history([1.0, 2.0])


# -- plot_decision_boundary -------------------------------------------------------------------


class SignModel:
    """Predicts class 1 where the first coordinate is positive; one-hot or one sigmoid column."""

    def __init__(self, columns=2):
        self.columns = columns

    def predict(self, points):
        positive = (points[:, 0] > 0).astype(float)
        if self.columns == 1:
            return positive[:, None]
        return np.column_stack([1 - positive, positive])


@pytest.mark.parametrize("columns", [1, 2])
def test_decision_boundary_image_holds_predicted_classes(columns):
    x = np.array([[-1.0, -1.0], [1.0, 1.0], [-0.5, 0.8], [0.7, -0.3]])
    y = np.array([0, 1, 0, 1])
    fig = plot.plot_decision_boundary(SignModel(columns), x, y, resolution=20, padding=0.5)
    ax = fig.axes[0]
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (20, 20)
    grid_x = np.linspace(-1.5, 1.5, 20)
    expected = np.broadcast_to((grid_x > 0).astype(int), (20, 20))
    np.testing.assert_array_equal(image, expected)
    assert ax.images[0].origin == "lower"
    np.testing.assert_allclose(ax.collections[0].get_offsets(), x)
    assert ax.get_xlim() == pytest.approx((-1.5, 1.5))


def test_decision_boundary_with_a_trained_tinynn_model_and_given_ax():
    x, y = tinynn.datasets.make_blobs(n_samples=60, seed=0)
    model = tinynn.Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    fig, ax = plt.subplots()
    returned = plot.plot_decision_boundary(model, x, y, resolution=30, ax=ax, title="blobs")
    assert returned is fig
    assert ax.get_title() == "blobs"
    assert set(np.unique(ax.images[0].get_array())) <= {0, 1, 2}


def test_decision_boundary_rejects_points_that_are_not_2d():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot.plot_decision_boundary(SignModel(), np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        plot.plot_decision_boundary(SignModel(), np.zeros((4, 2)), np.zeros(3))


# -- plot_gradient_flow -----------------------------------------------------------------------


def test_gradient_flow_from_a_snapshot_dict():
    norms = {"dense": 1e-4, "dense_1": 1e-2, "dense_2": 1.0}
    fig = plot.plot_gradient_flow(norms, label="sigmoid")
    ax = fig.axes[0]
    assert len(ax.lines) == 1
    np.testing.assert_allclose(line_data(ax.lines[0])[1], [1e-4, 1e-2, 1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(norms)
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "gradient norm"
    assert ax.get_legend().get_texts()[0].get_text() == "sigmoid"


def test_gradient_flow_draws_several_networks_into_one_ax():
    fig, ax = plt.subplots()
    returned = plot.plot_gradient_flow({"a": 1.0, "b": 2.0}, ax=ax, label="relu")
    plot.plot_gradient_flow({"a": 0.1, "b": 0.2}, ax=ax, label="tanh")
    assert returned is fig
    assert [line.get_label() for line in ax.lines] == ["relu", "tanh"]
    linear = plot.plot_gradient_flow({"a": 0.1, "b": 0.2}, log_scale=False).axes[0]
    assert linear.get_yscale() == "linear"


def test_gradient_flow_from_layer_statistics_draws_one_line_per_record():
    x, y = tinynn.datasets.make_moons(n_samples=64, seed=0)
    model = tinynn.Sequential([Dense(4, activation="tanh"), Dense(1, activation="sigmoid")], seed=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    stats = LayerStatistics()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[stats])
    ax = plot.plot_gradient_flow(stats).axes[0]
    assert [line.get_label() for line in ax.lines] == ["epoch 0", "epoch 1", "epoch 2"]
    for step, line in enumerate(ax.lines):
        expected = [stats.history[name]["grad_norm"][step] for name in ("dense", "dense_1")]
        np.testing.assert_allclose(line_data(line)[1], expected)


def test_gradient_flow_limits_the_number_of_lines_and_checks_input():
    series = {"a": list(range(1, 21)), "b": list(range(2, 22))}
    ax = plot.plot_gradient_flow(series, max_lines=5).axes[0]
    assert len(ax.lines) == 5
    np.testing.assert_allclose(line_data(ax.lines[-1])[1], [20, 21])  # the last step is kept
    with pytest.raises(ValueError, match="same number"):
        plot.plot_gradient_flow({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(TypeError, match="LayerStatistics"):
        plot.plot_gradient_flow([1.0, 2.0])


# -- plot_weights -----------------------------------------------------------------------------


def built_dense(n_in, units, name="dense"):
    layer = Dense(units, name=name, seed=0)
    layer.build((n_in,))
    return layer


def test_weights_heat_map_shows_the_kernel_centred_on_zero():
    layer = built_dense(5, 3)
    fig = plot.plot_weights(layer)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), layer.params["W"])
    low, high = ax.images[0].get_clim()
    assert low == pytest.approx(-high)
    assert "dense" in ax.get_title() and "(5, 3)" in ax.get_title()
    assert len(fig.axes) == 2  # the heat map and its colour bar


def test_weights_of_a_model_get_one_panel_per_dense_layer():
    model = tinynn.Sequential([tinynn.Input((4,)), Dense(3), tinynn.layers.Dropout(0.1), Dense(2)])
    model.build()
    fig = plot.plot_weights(model)
    titles = [ax.get_title() for ax in fig.axes if ax.images and ax.get_title()]
    assert titles == ["dense W (4, 3)", "dense_1 W (3, 2)"]


def test_weights_as_unit_images():
    layer = built_dense(64, 5)
    fig = plot.plot_weights(layer, image_shape=(8, 8))
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 5
    np.testing.assert_allclose(
        image_axes[2].images[0].get_array(), layer.params["W"][:, 2].reshape(8, 8)
    )
    with pytest.raises(ValueError, match="64 inputs"):
        plot.plot_weights(layer, image_shape=(4, 4))


def test_weights_needs_a_layer_with_a_kernel():
    with pytest.raises(ValueError, match="W"):
        plot.plot_weights(tinynn.layers.Flatten())


# -- plot_confusion_matrix --------------------------------------------------------------------


def cell_texts(ax):
    return {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }


def test_confusion_matrix_writes_each_count_in_its_cell():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plot.plot_confusion_matrix(cm, class_names=["cat", "dog", "fox"])
    ax = fig.axes[0]
    texts = cell_texts(ax)
    assert len(texts) == 9
    assert texts[(1, 0)] == "2" and texts[(2, 2)] == "9" and texts[(0, 2)] == "0"
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "fox"]


def test_confusion_matrix_normalized_rows():
    ax = plot.plot_confusion_matrix(np.array([[1, 1], [0, 4]]), normalize=True).axes[0]
    texts = cell_texts(ax)
    assert texts[(0, 0)] == "0.50" and texts[(1, 1)] == "1.00" and texts[(1, 0)] == "0.00"


def test_confusion_matrix_checks_shape_and_names():
    with pytest.raises(ValueError, match="square"):
        plot.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected 2"):
        plot.plot_confusion_matrix(np.eye(2), class_names=["a", "b", "c"])


# -- show_images ------------------------------------------------------------------------------


def test_show_images_grid_titles_and_pixels():
    images = np.arange(10 * 64, dtype=float).reshape(10, 64)
    labels = list(range(10))
    predictions = [0, 1, 2, 5, 4, 5, 6, 7, 8, 1]
    fig = plot.show_images(images, labels, predictions, ncols=4)
    assert len(fig.axes) == 12  # 3 rows of 4, the last two hidden
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 10
    np.testing.assert_array_equal(shown[3].images[0].get_array(), images[3].reshape(8, 8))
    assert shown[3].get_title() == "3/5"
    assert matplotlib.colors.same_color(shown[3].title.get_color(), "red")
    assert matplotlib.colors.same_color(shown[0].title.get_color(), "black")
    assert not fig.axes[-1].axison


def test_show_images_accepts_channel_last_and_labels_only():
    images = np.zeros((3, 8, 8, 1))
    fig = plot.show_images(images, labels=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert fig.axes[0].images[0].get_array().shape == (8, 8)


def test_show_images_checks_shapes_and_lengths():
    with pytest.raises(ValueError, match="not square"):
        plot.show_images(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="expected 2"):
        plot.show_images(np.zeros((2, 4, 4)), labels=[1])


# -- matplotlib is optional -------------------------------------------------------------------


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    calls = [
        lambda: plot.plot_history({"loss": [1.0]}),
        lambda: plot.plot_decision_boundary(SignModel(), np.zeros((2, 2)), np.zeros(2)),
        lambda: plot.plot_gradient_flow({"a": 1.0}),
        lambda: plot.plot_weights(built_dense(2, 2)),
        lambda: plot.plot_confusion_matrix(np.eye(2)),
        lambda: plot.show_images(np.zeros((1, 4, 4))),
    ]
    for call in calls:
        with pytest.raises(ImportError, match=r'pip install "tinynn\[plot\]"'):
            call()


def test_importing_tinynn_plot_does_not_import_matplotlib():
    code = "import sys, tinynn, tinynn.plot; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
