"""The checking parsers of the image layers: convolutions, pooling and zero padding.

Each takes a ``layer_parsers.Call`` (the layer's config, inputs, first weight) and returns the
tensor it outputs, as the parsers of ``tinynn.runtime.layer_parsers`` do. Every window
setting is checked: sizes, strides and dilations in 1..``MAX_WINDOW``, padding "valid",
"same" or explicit [[top, bottom], [left, right]], and an output of at least one pixel.
"""

from __future__ import annotations

from typing import Any

from tinynn.kernels.numpy_ops.conv_patches import conv_geometry

#: The largest kernel, pool window, stride, dilation or padding a file may declare.
MAX_WINDOW = 4096


def _window(call: Any, size_key: str, default_strides: Any = 1) -> dict[str, Any]:
    """kernel or pool size, strides, dilation and padding, checked; with the output (H, W)."""
    checks, lc, what = call.checks, call.config, call.what
    h, w, _ = checks.image(call.shape, what)
    size = checks.pair(lc.get(size_key), f"{what} {size_key}", MAX_WINDOW)
    strides = lc.get("strides", default_strides)
    strides = checks.pair(size if strides is None else strides, f"{what} strides", MAX_WINDOW)
    dilation = checks.pair(lc.get("dilation_rate", 1), f"{what} dilation_rate", MAX_WINDOW)
    padding = lc.get("padding", "valid")
    if isinstance(padding, list):
        padding = _explicit_pads(call, padding)
    elif padding not in ("valid", "same"):
        raise checks.fail(
            f"{what} padding is {padding!r}; expected 'valid', 'same' or "
            "[[top, bottom], [left, right]]"
        )
    try:
        (ho, wo), pads = conv_geometry((h, w), size, strides, dilation, padding)
    except ValueError:
        raise checks.fail(
            f"{what}: a window of {size} (dilation {dilation}) does not fit images {(h, w)} "
            f"with padding {padding!r}"
        ) from None
    return {
        "size": size,
        "strides": strides,
        "dilation": dilation,
        "out": (ho, wo),
        "pads": pads,
    }


def parse_conv2d(call: Any) -> int:
    checks, lc, what = call.checks, call.config, call.what
    g = _window(call, "kernel_size")
    channels = call.shape[2]
    filters = checks.size(lc.get("filters"), f"{what} filters")
    use_bias = checks.flag(lc.get("use_bias", True), f"{what} use_bias")
    shapes = [(*g["size"], channels, filters)] + ([(filters,)] if use_bias else [])
    found = call.weights(*shapes)
    activation, alpha = checks.activation(lc.get("activation"), what)
    return call.add(
        "Conv2D",
        (*g["out"], filters),
        kernel=found[0],
        bias=found[1] if use_bias else None,
        activation=activation,
        alpha=alpha,
        strides=g["strides"],
        dilation=g["dilation"],
        pads=g["pads"],
    )


def parse_depthwise(call: Any) -> int:
    """DepthwiseConv2D, and SeparableConv2D as a depthwise step then a 1×1 Conv2D step."""
    checks, lc, what = call.checks, call.config, call.what
    g = _window(call, "kernel_size")
    channels = call.shape[2]
    multiplier = checks.size(lc.get("depth_multiplier", 1), f"{what} depth_multiplier", 4096)
    mid = checks.size(channels * multiplier, f"{what} output channels")
    use_bias = checks.flag(lc.get("use_bias", True), f"{what} use_bias")
    activation, alpha = checks.activation(lc.get("activation"), what)
    geometry = {"strides": g["strides"], "dilation": g["dilation"], "pads": g["pads"]}
    if call.class_name == "DepthwiseConv2D":
        found = call.weights((*g["size"], channels, multiplier), *([(mid,)] if use_bias else []))
        bias = found[1] if use_bias else None
        return call.add(
            "DepthwiseConv2D",
            (*g["out"], mid),
            kernel=found[0],
            bias=bias,
            activation=activation,
            alpha=alpha,
            **geometry,
        )
    filters = checks.size(lc.get("filters"), f"{what} filters")
    shapes = [(*g["size"], channels, multiplier), (1, 1, mid, filters)]
    found = call.weights(*shapes, *([(filters,)] if use_bias else []))
    middle = call.add("DepthwiseConv2D", (*g["out"], mid), kernel=found[0], **geometry)
    return call.add(
        "Conv2D",
        (*g["out"], filters),
        kernel=found[1],
        bias=found[2] if use_bias else None,
        activation=activation,
        alpha=alpha,
        inputs=(middle,),
        input_shapes=((*g["out"], mid),),
    )


def parse_pooling(call: Any) -> int:
    checks, what = call.checks, call.what
    if call.class_name == "GlobalAveragePooling2D":
        _, _, channels = checks.image(call.shape, what)
        keepdims = checks.flag(call.config.get("keepdims", False), f"{what} keepdims")
        return call.add(call.class_name, (1, 1, channels) if keepdims else (channels,))
    g = _window(call, "pool_size", default_strides=None)
    if g["dilation"] != (1, 1):
        raise checks.fail(f"{what} has a dilation_rate; pooling windows take none")
    return call.add(
        call.class_name,
        (*g["out"], call.shape[2]),
        pool_size=g["size"],
        strides=g["strides"],
        pads=g["pads"],
    )


def _explicit_pads(call: Any, padding: Any) -> tuple[int, int, int, int]:
    """[[top, bottom], [left, right]] of integers in 0..MAX_WINDOW -> (top, bottom, left, right)."""
    checks, what = call.checks, call.what
    valid = isinstance(padding, list) and len(padding) == 2
    valid = valid and all(isinstance(p, list) and len(p) == 2 for p in padding)
    pads = [v for pair in padding for v in pair] if valid else []
    if not valid or not all(isinstance(p, int) and not isinstance(p, bool) for p in pads):
        raise checks.fail(f"{what} padding is {padding!r}; expected [[top, bottom], [left, right]]")
    if not all(0 <= p <= MAX_WINDOW for p in pads):
        raise checks.fail(f"{what} padding {padding} must hold integers in 0..{MAX_WINDOW}")
    top, bottom, left, right = pads
    return top, bottom, left, right


def parse_zero_padding(call: Any) -> int:
    h, w, c = call.checks.image(call.shape, call.what)
    top, bottom, left, right = pads = _explicit_pads(call, call.config.get("padding"))
    return call.add("ZeroPadding2D", (h + top + bottom, w + left + right, c), pads=pads)
