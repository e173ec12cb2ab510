"""Benchmarks: ``tinynn bench {kernels,train,depth,predict,conv}``.

Each benchmark is a module with ``add_arguments(parser)``, ``run(args) -> exit code`` and
``main(argv=None)``; it prints a table and writes JSON, CSV and a PNG plot into ``--out``.
``common`` holds timing and statistics, ``options`` the command-line options, ``output`` the
tables and result files, ``machine`` the machine description, ``mlp`` the training workloads
(tinynn epoch, GEMM floor and their timing) and ``peers`` PyTorch and scikit-learn.
None of them is imported by ``import tinynn``.
"""

BENCHMARKS = ("kernels", "train", "depth", "predict", "conv")
