"""Pictures of training: loss curves, decision boundaries, gradient flow, weights, confusion
matrices and images.

matplotlib is an optional extra (``pip install "tinynn[plot]"``), imported inside each function,
so ``import tinynn`` never needs it. Every function returns the matplotlib ``Figure`` it drew on.
When no ``ax`` is given the figure is made with ``pyplot``, so ``plt.show()`` works in a script;
in a notebook, assign the result (``fig = plot_history(h)``) or the figure is shown twice.

    from tinynn import plot
    fig = plot.plot_history(model.fit(x, y, validation_split=0.2, epochs=20))
    fig.savefig("history.png")
"""

from tinynn.plot._mpl import INSTALL_HINT
from tinynn.plot.boundary import plot_decision_boundary, predicted_classes
from tinynn.plot.curves import plot_gradient_flow, plot_history
from tinynn.plot.images import plot_confusion_matrix, show_images
from tinynn.plot.weights import plot_weights

__all__ = [
    "INSTALL_HINT",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_gradient_flow",
    "plot_history",
    "plot_weights",
    "predicted_classes",
    "show_images",
]
