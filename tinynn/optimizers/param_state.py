"""Per-parameter optimizer state, and the groups one kernel call can update together.

An optimizer keeps, for every parameter array it has stepped, a ``ParamState``: the array
itself, how many updates it has had (PyTorch's ``state["step"]``) and its buffers (momentum,
moment estimates). State is keyed by the parameter array, never by a name, so two layers can
never collide, and a parameter that joins later (a layer unfrozen between two ``fit`` calls)
simply starts from zero state, as in PyTorch.

**Groups.** The element-wise update rules give the same result on one flat array as on its
pieces. When consecutive (param, grad) pairs lie end to end in memory, as a model's
``ParameterStore`` lays them out, and have taken the same number of steps, an optimizer
updates them with one kernel call on flat views (``Group``): the same arithmetic, without a
call per array. Their state buffers are laid out end to end too, so they have flat views as
well. ``plan_groups`` works this out once per list of pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tinynn.parameters import aligned_zeros, contiguous_runs

Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class ParamState:
    """What an optimizer remembers about one parameter array."""

    param: np.ndarray
    step: int = 0
    buffers: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Group:
    """Pairs updated by one kernel call: flat views of their params, grads and buffers."""

    param: np.ndarray
    grad: np.ndarray
    buffers: dict[str, np.ndarray]
    members: list[ParamState]

    @property
    def step(self) -> int:
        return self.members[0].step


def plan_groups(
    pairs: Sequence[Pair], states: Sequence[ParamState], buffer_names: Sequence[str]
) -> list[Group]:
    """Split ``pairs`` into groups (see the module docstring). ``states`` are the pairs'
    states, in order; their buffers are (re)laid out end to end where a group needs it."""
    groups = []
    for flat_param, flat_grad, indices in contiguous_runs(pairs):
        for chunk in _same_step_chunks(indices, states):
            members = [states[i] for i in chunk]
            if len(chunk) == len(indices):
                param, grad = flat_param, flat_grad
            else:  # a run split by step counts: slice the flat views
                start = sum(states[i].param.size for i in indices[: indices.index(chunk[0])])
                size = sum(member.param.size for member in members)
                param = flat_param.reshape(-1)[start : start + size]
                grad = flat_grad.reshape(-1)[start : start + size]
            buffers = {name: _flat_buffer(members, name, param) for name in buffer_names}
            groups.append(Group(param, grad, buffers, members))
    return groups


def _same_step_chunks(indices: list[int], states: Sequence[ParamState]) -> list[list[int]]:
    chunks: list[list[int]] = []
    for index in indices:
        if chunks and states[chunks[-1][-1]].step == states[index].step:
            chunks[-1].append(index)
        else:
            chunks.append([index])
    return chunks


def _flat_buffer(members: list[ParamState], name: str, param: np.ndarray) -> np.ndarray:
    """One array of ``param``'s shape whose pieces are the members' buffers ``name``.

    A single member uses its own buffer. Several members get one new flat array holding their
    current values, and their buffers become views into it, so the flat array and the
    per-parameter buffers stay the same memory from then on.
    """
    if len(members) == 1:
        state = members[0]
        if name not in state.buffers:
            state.buffers[name] = np.zeros_like(state.param)
        return state.buffers[name].reshape(param.shape)
    views = [member.buffers.get(name) for member in members]
    if all(view is not None for view in views):
        runs = contiguous_runs([(view, view) for view in views])
        if len(runs) == 1 and runs[0][0].size == param.size:
            return runs[0][0]
    flat = aligned_zeros(param.size, param.dtype)
    offset = 0
    for member, view in zip(members, views, strict=True):
        piece = flat[offset : offset + member.param.size].reshape(member.param.shape)
        if view is not None:
            piece[...] = view
        member.buffers[name] = piece
        offset += member.param.size
    return flat
