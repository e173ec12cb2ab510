"""Where a training step's time and memory go, and what the machine could do.

    profile = tinynn.profile(model, x, y, batch_size=128)   # = tinynn.profiling.profile
    print(profile)

* ``profiler``: ``profile``, which times the step ``fit`` takes, layer by layer and pass by
  pass (``timing`` holds the temporary timers it puts on the layers).
* ``costs`` and ``layer_rules``: the FLOPs and bytes of each pass, from the layers' shapes.
* ``roofline``: the machine's peak GFLOP/s and memory bandwidth, measured (``measure_roofline``).
* ``memory``: the training footprint, split into parameters, gradients, optimizer state,
  activations kept for backward and workspace (``training_memory``).
* ``results``: the ``Profile`` that ``profile`` returns, and its table.
* ``random_data``: synthetic inputs and targets shaped for any model (``random_data``).
"""

from tinynn.profiling.costs import Cost, layer_cost
from tinynn.profiling.memory import MemoryFootprint, training_memory
from tinynn.profiling.profiler import profile
from tinynn.profiling.random_data import random_data
from tinynn.profiling.results import Profile, ProfileRow
from tinynn.profiling.roofline import Roofline, measure_roofline

__all__ = [
    "Cost",
    "MemoryFootprint",
    "Profile",
    "ProfileRow",
    "Roofline",
    "layer_cost",
    "measure_roofline",
    "profile",
    "random_data",
    "training_memory",
]
