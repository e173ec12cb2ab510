"""``tinynn bench depth``: what depth and width cost, measured on the user's own machine.

The installed package keeps only the benchmark a user runs to see what depth buys and what it
costs on their machine, and the helpers any benchmark needs. A benchmark is a module with
``add_arguments(parser)``, ``run(args) -> exit code`` and ``main(argv=None)``; it prints a
table and writes JSON, CSV and a PNG plot into ``--out``.

``depth`` is the benchmark and ``depth_report`` its table, marginal costs and plots;
``families`` holds the model families it sweeps (MLPs, CNNs, or your own) and ``mlp`` the
workloads (synthetic data, a tinynn epoch and the GEMM floor it is measured against). Per-layer
times, the roofline and the memory split come from ``tinynn.profiling``. ``common`` holds
timing and statistics, ``options`` the command-line options, ``output`` the tables and result
files, ``machine`` the machine description. None of them is imported by ``import tinynn``.

Comparisons with other libraries and the project's performance targets are not here: they
are scripts in the source checkout's ``benchmarks/`` folder, which import these helpers.
"""

#: The benchmarks ``tinynn bench`` runs, in the order its help lists them.
BENCHMARKS = ("depth",)
