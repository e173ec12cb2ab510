"""``tinynn predict MODEL input.csv``: the predicted class of every row of a CSV file.

The file holds raw features, one sample per row, optionally under a header (a header naming
the model's label column may keep that column; it is ignored). The preprocessing recorded at
training time is applied, so rows look exactly like the data set's own rows (digits pixels in
[0, 1], MNIST pixels 0..255, CSV features as they were); for a CNN each row is one image,
pixel by pixel, row by row (64 values for digits). The output is CSV: a ``prediction``
column holding the class label, plus ``p_<class>`` columns with ``--probabilities``.
"""

from __future__ import annotations

import argparse
from typing import Any

from tinynn.cli import csvfiles, data
from tinynn.cli.modelfile import class_labels, open_model


def register(subparsers: Any) -> None:
    """Add the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the class of every row of a CSV file",
        description="Predict the class of every row of a CSV file of features (header "
        "optional). Prints CSV to standard output unless --output is given.",
    )
    parser.add_argument("model", metavar="MODEL", help="model file written by 'tinynn train'")
    parser.add_argument("input", metavar="INPUT", help="CSV file, one row of features per sample")
    parser.add_argument(
        "--output",
        metavar="PATH",
        default=None,
        help="write the predictions to this CSV file instead of printing them",
    )
    parser.add_argument(
        "--probabilities",
        action="store_true",
        help="also give each class's probability, in columns p_<class>",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read, scale, predict, write. Returns the exit status."""
    model, metadata = open_model(args.model)
    options = (metadata.get("dataset") or {}).get("options") or {}
    _, raw = csvfiles.read_features(args.input, drop_column=options.get("label_column"))
    shape = data.sample_shape(model, metadata)
    data.check_feature_count(raw, shape, repr(args.input))
    x = data.to_model_inputs(raw, metadata.get("preprocessing"), shape)
    probabilities = model.predict(x)
    classes = class_labels(metadata, probabilities.shape[1])
    labels = [classes[k] for k in probabilities.argmax(axis=1)]
    text = csvfiles.write_predictions(
        args.output, labels, probabilities if args.probabilities else None, classes
    )
    if args.output is None:
        print(text, end="")
    else:
        print(f"Wrote {len(labels)} predictions to {args.output}")
    return 0
