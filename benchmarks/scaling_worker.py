"""The measuring side of ``bench_scaling.py``: one process of a job it starts.

    python scaling_worker.py JOB.json OUT.json                          # one process
    mpiexec -n 2 python -m mpi4py scaling_worker.py JOB.json OUT.json   # two, under MPI

The job is a JSON dict; rank 0 writes its measurements (seconds, every repeat) to OUT.json.

    {"kind": "allreduce", "sizes": [...], "repeats": 20}
        the bare mpi4py floor: Allreduce(IN_PLACE) and Iallreduce + Wait of float32 buffers,
        and NumPy's a += b on them (the arithmetic of a reduction, per byte);
    {"kind": "reduce", "models": {"name": [784, ...]}, "repeats": {"name": n}, "warmup": n}
        DataParallel.reduce_gradients against the bare Allreduce of the same bytes, with no
        computation between them;
    {"kind": "steps", "models": {"name": [784, ...]}, "batches": [...],
     "repeats": {"name": n}, "warmup": n, "modes": [...]}
        training steps of each model at each global batch (each rank computes its slice), the
        modes taking turns step by step so that noise hits them alike:
          single    no distribution: train_step on the whole batch (one process only)
          split     DataParallel with a Barrier before reduce_gradients, which splits a step
                    into compute, wait (the ranks' imbalance) and communication, and the bare
                    Allreduce of as many bytes as the gradients (the floor) beside it
          blocking  DataParallel as fit runs it: the whole step
          overlap   the same step, but each layer's gradients start a non-blocking Iallreduce
                    as soon as its backward is done (last layer first), all awaited before the
                    optimizer step, as PyTorch DDP and Horovod do
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import tinynn
from tinynn import layers
from tinynn.parameters import contiguous_runs
from tinynn.training import forward_loss, output_gradients, train_step


def allreduce_job(job, comm, MPI):
    rows = []
    for size in job["sizes"]:
        buffer = np.ones(size, np.float32)
        other = np.ones(size, np.float32)
        times = {"allreduce": [], "iallreduce": [], "add": []}
        for repeat in range(job["repeats"] + 2):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            blocking = time.perf_counter() - start
            comm.Barrier()
            start = time.perf_counter()
            comm.Iallreduce(MPI.IN_PLACE, buffer, op=MPI.SUM).Wait()
            nonblocking = time.perf_counter() - start
            start = time.perf_counter()
            buffer += other
            add = time.perf_counter() - start
            if repeat >= 2:  # two warm-up rounds
                times["allreduce"].append(blocking)
                times["iallreduce"].append(nonblocking)
                times["add"].append(add)
            buffer.fill(1.0)
        rows.append({"elements": size, "bytes": 4 * size, **times})
    return rows


def build(sizes, seed=0):
    model = tinynn.Sequential(
        [
            tinynn.Input(shape=(sizes[0],)),
            *[layers.Dense(units, activation="relu") for units in sizes[1:-1]],
            layers.Dense(sizes[-1], activation="softmax"),
        ],
        seed=seed,
    )
    return model


def timed_class(DataParallel):
    """DataParallel whose reduce_gradients, while ``split`` is on, waits in a Barrier, then
    runs itself and the bare Allreduce of as many bytes (the floor), each after a Barrier, in
    turns first and second (so neither always follows the computation), and records
    (wait, communication, floor) in ``times``."""

    class TimedDataParallel(DataParallel):
        split = False

        def reduce_gradients(self, model, loss):
            if not self.split:
                return super().reduce_gradients(model, loss)
            if not hasattr(self, "floor"):
                self.floor, self.times = np.zeros(model.count_params(), np.float32), []
            start = time.perf_counter()
            self.comm.Barrier()
            waited = time.perf_counter() - start
            floor_first = len(self.times) % 2 == 0
            if floor_first:
                floor = self.time_floor()
            self.comm.Barrier()
            start = time.perf_counter()
            result = super().reduce_gradients(model, loss)
            communication = time.perf_counter() - start
            if not floor_first:
                floor = self.time_floor()
            self.times.append((waited, communication, floor))
            return result

        def time_floor(self):
            self.comm.Barrier()
            start = time.perf_counter()
            self.comm.Allreduce(self.MPI.IN_PLACE, self.floor, op=self.MPI.SUM)
            return time.perf_counter() - start

    return TimedDataParallel


def reduce_job(job, comm, MPI, DataParallel):
    """reduce_gradients against the bare Allreduce of as many bytes, back to back with no
    computation between (so the ranks stay in step), in turns first and second."""
    rows = []
    for name, sizes in job["models"].items():
        model = build(sizes)
        dp = timed_class(DataParallel)(comm)
        model.compile("sgd", "sparse_categorical_crossentropy", backend="numpy", distribution=dp)
        model.build()
        model.train_state.bind(model)
        dp.split = True
        for _ in range(job["warmup"] + job["repeats"][name]):
            dp.shard(np.arange(2))
            dp.reduce_gradients(model, 1.0)
        _, communication, floor = zip(*dp.times[job["warmup"] :], strict=True)
        runs = [grads.size for _, grads, _ in contiguous_runs(list(model.parameters()))]
        rows.append(
            {
                "model": name,
                "parameters": model.count_params(),
                "runs": runs,
                "reduce": list(communication),
                "floor": list(floor),
            }
        )
    return rows


def overlapped_step(model, state, dp, MPI, x, y, layer_runs):
    """train_step with one Iallreduce per layer started right after that layer's backward."""
    loss, _ = forward_loss(model, state, x, y)
    share = dp.output_scale(model)  # no penalty here: the share of the batch
    grad = output_gradients(state, share)
    requests = []
    first = model.first_trainable_index()
    for index in range(len(model.layers) - 1, first - 1, -1):
        layer = model.layers[index]
        layer.compute_input_grad = index > first
        grad = layer.backward(grad)
        for grads in layer_runs[index]:
            requests.append(dp.comm.Iallreduce(MPI.IN_PLACE, grads, op=MPI.SUM))
    total = np.array([share * loss])
    requests.append(dp.comm.Iallreduce(MPI.IN_PLACE, total, op=MPI.SUM))
    MPI.Request.Waitall(requests)
    state.optimizer.step(model.parameters())


def steps_job(job, comm, MPI, DataParallel):
    rank, size = (0, 1) if comm is None else (comm.Get_rank(), comm.Get_size())
    rows = []
    for name, sizes in job["models"].items():
        for batch in job["batches"]:
            rng = np.random.default_rng(rank)
            local = len(np.array_split(np.arange(batch), size)[rank])
            x = rng.random((local, sizes[0]), dtype=np.float32)
            y = rng.integers(0, sizes[-1], local)
            rows.append(measure_steps(job, name, sizes, batch, x, y, comm, MPI, DataParallel))
    return rows


def measure_steps(job, name, sizes, batch, x, y, comm, MPI, DataParallel):
    model = build(sizes)
    dp = None if comm is None else timed_class(DataParallel)(comm)
    model.compile(
        tinynn.optimizers.SGD(0.01, momentum=0.9),
        "sparse_categorical_crossentropy",
        backend="numpy",
        distribution=dp,
    )
    model.build()
    state = model.train_state
    state.bind(model)
    if dp is not None:
        dp.broadcast_weights(model)
        layer_runs = [
            [grads for _, grads, _ in contiguous_runs(list(layer.parameters()))]
            for layer in model.layers
        ]
    rows = np.arange(batch)
    times = {mode: [] for mode in job["modes"]}
    split = {"wait": [], "comm": [], "floor": []}
    for repeat in range(job["warmup"] + job["repeats"][name]):
        for mode in job["modes"]:
            if dp is not None:
                comm.Barrier()
                dp.shard(rows)
                dp.split = mode == "split"
            start = time.perf_counter()
            with state.lend_buffers(model):
                if mode == "overlap":
                    overlapped_step(model, state, dp, MPI, x, y, layer_runs)
                else:  # single, blocking or split: fit's own step
                    train_step(model, state, x, y)
            elapsed = time.perf_counter() - start
            if repeat < job["warmup"]:
                continue
            if mode == "split":  # the step without the floor's time
                wait, communication, floor = dp.times[-1]
                elapsed -= floor
                split["wait"].append(wait)
                split["comm"].append(communication)
                split["floor"].append(floor)
            times[mode].append(elapsed)
    return {
        "model": name,
        "sizes": sizes,
        "batch": batch,
        "local_batch": len(x),
        "parameters": model.count_params(),
        "steps": times,
        **split,
    }


def main(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    comm = MPI = DataParallel = None
    if job.get("mpi"):
        from mpi4py import MPI

        from tinynn.distributed import DataParallel

        comm = MPI.COMM_WORLD
    if job["kind"] == "allreduce":
        rows = allreduce_job(job, comm, MPI)
    elif job["kind"] == "reduce":
        rows = reduce_job(job, comm, MPI, DataParallel)
    else:
        rows = steps_job(job, comm, MPI, DataParallel)
    if comm is None or comm.Get_rank() == 0:
        Path(out_path).write_text(json.dumps(rows))


if __name__ == "__main__":
    main(*sys.argv[1:])
