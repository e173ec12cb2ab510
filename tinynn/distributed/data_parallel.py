"""``DataParallel``: one model trained by N processes, each on its slice of every batch (MPI).

    mpiexec -n 4 python -m mpi4py train.py

    # train.py, unchanged from one process to N:
    from tinynn.distributed import DataParallel
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  distribution=DataParallel())
    model.fit(x, y, batch_size=256, epochs=10)        # 256 is the *global* batch

Every process runs the whole script on the same data. In ``fit`` (``tinynn.training``):

1. ``begin_fit`` copies rank 0's weights and its shuffling generator to every rank, so every
   rank computes the same order of samples.
2. ``shard`` cuts each global batch of B rows into N contiguous slices; rank r gathers,
   forwards and backpropagates only its n_r rows.
3. Each loss is a mean over its batch, so the gradient of the global batch is
   Σ_r (n_r / B) · (gradient of rank r's slice). ``output_scale`` gives the factor n_r / B
   that ``train_step`` applies to the loss gradient, and ``reduce_gradients`` sums the
   gradients of all ranks in place: one ``Allreduce`` per contiguous run of the gradient
   store (``tinynn.parameters.contiguous_runs``: a few per model), the batch's loss riding
   in the last one (see ``_gradient_runs``). Every rank then takes the same optimizer step
   from the same gradient: the step a single process takes.
4. ``collect`` gathers every rank's predictions of the batch, so the logs of ``fit`` describe
   the global batch and the whole epoch, exactly as in one process.

``evaluate`` and ``predict`` give rank r every N-th batch (``owned``) and add up the outputs
(``sum_over_ranks``): every rank returns all of them.

**What is not the same as one process.** A layer that looks at its whole batch or draws random
numbers sees only its rank's slice: BatchNormalization normalizes with the slice's statistics
(PyTorch DDP without SyncBatchNorm does the same) and its moving averages are averaged over
the ranks at the end of every epoch (``end_epoch``); Dropout and augmentation layers draw from
per-rank streams (``attach``). Models without such layers train exactly as in one process, up
to rounding (the sums run in another order).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinynn.distributed.mpi import import_mpi
from tinynn.parameters import contiguous_runs
from tinynn.seeding import layer_generators


def split_sizes(total: int, parts: int) -> list[int]:
    """Sizes of ``parts`` contiguous slices of ``total`` rows, the first ones one row larger
    when ``total`` is not a multiple of ``parts`` (``np.array_split``'s rule): 11 over 2 is
    [6, 5], 1 over 2 is [1, 0]."""
    base, extra = divmod(total, parts)
    return [base + (index < extra) for index in range(parts)]


class DataParallel:
    """Data-parallel training over the processes of an MPI communicator.

    Args:
        comm: an ``mpi4py`` communicator; the default ``MPI.COMM_WORLD`` holds every process
            that ``mpiexec`` started.

    Attributes:
        rank, size: this process's number and the number of processes.
        is_main: True on rank 0, the process that prints progress and writes files
            (callbacks whose ``main_process_only`` is set run there only; ``save`` writes there
            only).
    """

    def __init__(self, comm: Any = None) -> None:
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self._counts = [0] * self.size  # rows of each rank in the current batch
        self._share: float | None = None  # this rank's n_r / B, until reduce_gradients
        self._scale_gradients = False
        self._runs: dict[tuple, tuple] = {}  # store and gradient ids -> (..., runs, slot)
        self._loss_slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per store
        self._jumped: dict[int, Any] = {}  # id -> generator, held so that ids stay unique

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size})"

    # -- set-up -----------------------------------------------------------------------------

    def attach(self, model: Any) -> None:
        """Called by ``compile``. Rank r's layer generators jump ahead r × 2^127 draws
        (``PCG64.jumped``), so dropout masks and augmentations differ from rank to rank yet
        repeat from run to run; rank 0 keeps the streams of a single process, and ``model.rng``
        (shuffling) is left alone: ``begin_fit`` copies rank 0's. Each generator jumps once."""
        for generator in layer_generators(model):
            if id(generator) not in self._jumped and self.rank > 0:
                generator.bit_generator.state = generator.bit_generator.jumped(self.rank).state
            self._jumped[id(generator)] = generator

    def begin_fit(self, model: Any, n: int, batch_size: int) -> None:
        """Check that every rank trains on as much data with the same batch and model, then
        copy rank 0's weights (and layer state) and shuffling generator to every rank."""
        facts = (n, batch_size, model.count_params())
        every = self.comm.allgather(facts)
        if any(other != every[0] for other in every):
            raise ValueError(
                "DataParallel: every process must call fit with the same data length, "
                "batch_size and model; (samples, batch_size, parameters) per rank: "
                f"{every}"
            )
        self.broadcast_weights(model)
        state = self.comm.bcast(model.rng.bit_generator.state, root=0)
        model.rng.bit_generator.state = state

    def broadcast_weights(self, model: Any) -> None:
        """Copy rank 0's arrays (parameters and layer state) into every rank's, in place."""
        for array in model.weights:
            self._in_place(array, lambda buffer: self.comm.Bcast(buffer, root=0))

    # -- one training step ------------------------------------------------------------------

    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This rank's contiguous slice of the global batch ``rows``.

        A rank left without rows (a last batch smaller than the number of ranks) gets the
        batch's first row, with weight 0: it computes a gradient like the others and adds
        nothing, so no rank ever runs a layer on an empty batch.
        """
        self._counts = split_sizes(len(rows), self.size)
        start = sum(self._counts[: self.rank])
        count = self._counts[self.rank]
        self._share = count / len(rows)
        return rows[start : start + count] if count else rows[:1]

    def output_scale(self, model: Any) -> float:
        """The factor for this rank's loss gradient: its share n_r / B of the batch.

        Applying it to the loss gradient (a batch × outputs array) costs nothing; but the
        layers add a regularization penalty's gradient after it, on every rank, and a sum
        over the ranks would count it N times. A model with a penalty therefore gets 1 here,
        and ``reduce_gradients`` scales its whole gradient instead (one more pass over it).
        """
        self._scale_gradients = model.regularization_loss() != 0.0
        return 1.0 if self._scale_gradients else self._take_share(keep=True)

    def reduce_gradients(self, model: Any, loss: float) -> float:
        """Sum the ranks' gradients in place; returns the loss of the global batch.

        Without ``shard`` (``train_on_batch`` on every rank with a batch of its own), each
        rank's gradient counts 1/N: the mean of the ranks' gradients, as in Horovod.
        """
        share = self._take_share()
        runs, slot = self._gradient_runs(model)
        slot[0] = loss if self._scale_gradients else share * loss  # scaled below, if at all
        for _, grads, _ in runs:
            if self._scale_gradients:
                grads *= share
            self._in_place(grads, self._sum)
        self._scale_gradients = False
        return float(slot[0])

    def collect(self, local: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out`` (the global batch's rows) with every rank's rows of ``local``."""
        k = int(np.prod(out.shape[1:], dtype=np.int64))
        counts = [count * k for count in self._counts]
        displacements = [sum(counts[:rank]) for rank in range(self.size)]
        send = np.ascontiguousarray(local[: self._counts[self.rank]], dtype=out.dtype)
        self.comm.Allgatherv(send, [out, (counts, displacements)])

    def end_epoch(self, model: Any) -> None:
        """Average the layers' state (BatchNormalization's moving statistics) over the ranks,
        so that every rank ends the epoch with the same model."""
        if self.size == 1:
            return
        for layer in model.layers:
            for array in layer.state.values():
                self._in_place(array, self._sum)
                array /= self.size

    # -- evaluate and predict ---------------------------------------------------------------

    def owned(self, starts: Sequence[int]) -> Sequence[int]:
        """This rank's batches out of ``starts``: every N-th, from the rank's number."""
        return starts[self.rank :: self.size]

    def sum_over_ranks(self, array: np.ndarray) -> None:
        """In place, the sum of every rank's ``array``: outputs each rank filled where it
        computed them and left 0 elsewhere become every output, on every rank."""
        self._in_place(array, self._sum)

    def predict(self, run: Callable, x: np.ndarray, batch_size: int, shape, dtype) -> np.ndarray:
        """``run`` (the model's predict of one batch) on this rank's batches of x; every rank
        returns all the outputs."""
        outputs = np.zeros((len(x), *shape), dtype)
        for start in self.owned(range(0, len(x), batch_size)):
            outputs[start : start + batch_size] = run(x[start : start + batch_size])
        self.sum_over_ranks(outputs)
        return outputs

    # -- plain collectives, for callbacks ---------------------------------------------------

    def broadcast_object(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (any picklable object)."""
        return self.comm.bcast(value, root=0)

    def gather_objects(self, value: Any) -> list[Any] | None:
        """Every rank's ``value``, in rank order, on rank 0 (None elsewhere)."""
        return self.comm.gather(value, root=0)

    # -- helpers ----------------------------------------------------------------------------

    def _take_share(self, keep: bool = False) -> float:
        share = 1.0 / self.size if self._share is None else self._share
        if not keep:
            self._share = None
        return share

    def _gradient_runs(self, model: Any) -> list:
        """(the model's trainable gradients as contiguous runs, planned once per set of arrays;
        the slot for the loss).

        The slot is one more element that this object allocates from the model's parameter
        store, after the model's own parameters: its gradient lies right after the last
        gradient, so the loss joins the last run's Allreduce instead of a message of its own
        (measured on 2 ranks: a separate Allreduce of the loss cost 10 to 20% of the small
        MLP's communication). No layer and no optimizer ever sees it. Where the store has no
        room there, the slot forms a run of its own, and all is still right.
        """
        pairs = list(model.parameters())  # every step: a layer may have been (un)frozen
        key = (id(model.store), *(id(grad) for _, grad in pairs))
        planned = self._runs.get(key)
        if planned is None:
            slot = self._loss_slots.get(model.store)
            if slot is None:
                slot = self._loss_slots[model.store] = model.store.allocate((1,), model.dtype)
            if len(self._runs) > 8:  # models come and go: keep the cache small
                self._runs.clear()
            # The pairs and the store are kept with the plan, so the ids stay theirs.
            planned = self._runs[key] = (model.store, pairs, contiguous_runs([*pairs, slot]), slot)
        return planned[2], planned[3][1]

    def _sum(self, buffer: np.ndarray) -> None:
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)

    @staticmethod
    def _in_place(array: np.ndarray, operation: Callable[[np.ndarray], None]) -> None:
        """Run a collective on ``array``'s memory, through a copy if it is not contiguous."""
        if array.flags.c_contiguous:
            operation(array)
            return
        buffer = np.ascontiguousarray(array)
        operation(buffer)
        array[...] = buffer
