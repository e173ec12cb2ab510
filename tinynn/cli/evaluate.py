"""``tinynn evaluate MODEL``: loss, accuracy, precision, recall and confusion matrix.

With no options the model is scored on the test split it was trained next to: the data set,
split and preprocessing recorded by ``tinynn train`` are rebuilt from the file's metadata.
``--dataset``/``--data``/``--label-column`` point it at other data instead (the model's own
preprocessing is still applied, and a CSV's labels are mapped onto the model's classes).

A CSV file named with ``--data`` is new data: every row of it is scored, unless ``--split``
asks for a re-split. Splitting it again by default would score a fifth of the file, and would
fail on a file too small to stratify.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from tinynn.cli import data, report
from tinynn.cli.modelfile import class_labels, open_model

SPLITS = ("test", "train", "all")


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a saved model on its test split or on other data",
        description="Score a saved model. By default it is evaluated on the test split "
        "recorded when it was trained.",
    )
    parser.add_argument("model", metavar="MODEL", help="model file written by 'tinynn train'")
    data.add_dataset_arguments(parser, for_training=False)
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default=None,
        help="which rows to score: the test split, the training split, or all of them "
        "(default: all for a CSV file given with --data, otherwise test)",
    )
    parser.set_defaults(run=run)


def resolve_data(metadata: dict[str, Any], args: argparse.Namespace) -> tuple[dict, dict]:
    """The (dataset, split) records to evaluate on: the recorded ones unless overridden."""
    recorded = metadata.get("dataset")
    if not isinstance(recorded, dict):
        recorded = None
    if args.dataset is None and recorded is None:
        raise ValueError(
            f"{args.model!r} records no data set (it was not saved by 'tinynn train'); "
            "choose one with --dataset"
        )
    name = args.dataset or recorded.get("name")
    same = recorded is not None and recorded.get("name") == name
    seed = int(metadata.get("seed", 0))
    if same and args.data is None and args.label_column is None:
        dataset = recorded
    else:
        options = recorded.get("options", {}) if same else {}
        dataset = data.dataset_spec(
            name,
            args.data or options.get("path"),
            args.label_column or options.get("label_column"),
            seed,
        )
    split = metadata.get("split") if same else None
    if not isinstance(split, dict):
        test_size = (metadata.get("split") or {}).get("test_size", 0.2)
        split = data.split_spec(name, test_size, seed)
    return dataset, split


def chosen_split(args: argparse.Namespace, dataset: dict) -> str:
    """The rows to score: ``--split`` if given; all rows of a CSV file named with ``--data``;
    otherwise the test split (for a bundled or MNIST-style set, the rows training held out)."""
    if args.split is not None:
        return args.split
    return "all" if args.data is not None and dataset["name"] == "csv" else "test"


def run(args: argparse.Namespace) -> int:
    """Rebuild the data, score the model, print the results. Returns the exit status."""
    model, metadata = open_model(args.model)
    dataset, split = resolve_data(metadata, args)
    classes = metadata.get("classes") if dataset["name"] == "csv" else None
    which = chosen_split(args, dataset)
    if which == "all":
        x, y = data.load_all(dataset, classes=classes)  # no split: nothing to stratify
    else:
        loaded = data.load_split(dataset, split, classes=classes)
        x, y = loaded.x_test, loaded.y_test
        if which == "train":
            x, y = loaded.x_train, loaded.y_train

    source = f"the {dataset['name']} data"
    shape = data.sample_shape(model, metadata)
    data.check_feature_count(x, shape, source)
    data.check_labels(y, model, source)
    x = data.to_model_inputs(x, metadata.get("preprocessing"), shape)
    n_outputs = model.output_shape[-1]
    scores = report.compute_scores(model, x, y, n_outputs)
    name = dataset["name"]
    if name == "csv":
        name = os.path.basename(dataset["options"]["path"])
    rows = "all rows" if which == "all" else f"{which} split"
    report.print_scores(
        f"{name}, {rows} ({len(x)} samples)", scores, class_labels(metadata, n_outputs)
    )
    return 0
