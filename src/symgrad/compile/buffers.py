"""Which buffer each step may write into, and when each variable is deleted.

A *storage* is the memory a fresh array owns. A step that makes a view (a
reshape, a transpose, an index) shares its inputs' storages. A storage is
dead once every value sharing it has had its last use; outputs keep theirs
alive forever, and placeholders' and constants' memory is never ours.

Scanning the schedule once, a step that can write with ``out=`` takes a
dead storage of its exact static shape and dtype: preferably one of its own
inputs' (in place, which NumPy ufuncs allow), else the one freed last. An
op with ``own_buffers`` (matmul) only reuses a storage its own op made, and
never one it reads.
The plan is fixed at compile time and all storages belong to one call.
"""

from __future__ import annotations

from typing import Callable

from ..ir import CONSTANT
from .steps import Step

NEVER = float("inf")


class BufferPlan:
    def __init__(self):
        self.out_for: dict[int, Step] = {}             # position -> step whose array is the out= buffer
        self.release_after: dict[int, list[Step]] = {}  # position -> steps whose variables die there
        self.pooled: list[int] = []  # positions whose new storage never reaches an output (codegen.BufferPool)


def plan_buffers(steps: list[Step], outputs: list[Step], fresh: Callable[[Step], bool],
                 takes_out: Callable[[Step], bool]) -> BufferPlan:
    last_use = {id(s): k for k, s in enumerate(steps)}
    for k, step in enumerate(steps):
        for inp in step.inputs:
            last_use[id(inp)] = k
    for out in outputs:
        last_use[id(out)] = NEVER

    # Storages each step may share, before any reuse: itself if fresh, else its inputs'.
    holders: dict[int, frozenset] = {}
    end: dict[int, float] = {}  # storage (a fresh step's position) -> last use of anything sharing it
    for k, step in enumerate(steps):
        if fresh(step):
            shared = frozenset((k,))
        else:
            shared = frozenset().union(*(holders[id(i)] for i in step.inputs)) if step.inputs else frozenset()
        holders[id(step)] = shared
        for g in shared:
            end[g] = max(end.get(g, -1), last_use[id(step)])

    plan = BufferPlan()
    root = {}                      # fresh step position -> storage it writes into (its own, or reused)
    holder = {}                    # storage -> position of the step whose variable now holds it
    kind = {}                      # storage -> the op that made it, if that op keeps its own buffers
    storage_end = {}               # storage -> when its current contents die
    ending: dict[float, list[int]] = {}
    pool: dict[tuple, list[int]] = {}
    reused_at = {}                 # position whose storage was taken -> the position that took it
    for k, step in enumerate(steps):
        for r in ending.pop(k - 1, ()):
            if storage_end[r] == k - 1:
                pool.setdefault(_key(steps[holder[r]]), []).append(r)
        if not fresh(step):
            continue
        chosen = None
        if takes_out(step):
            key = _key(step)
            if not step.op.own_buffers:  # in place on an input that dies here
                for inp in step.inputs:
                    for g in holders[id(inp)]:
                        r = root.get(g)
                        if r is not None and storage_end[r] == k and _key(steps[holder[r]]) == key:
                            chosen = r
                            break
                    if chosen is not None:
                        break
            if chosen is None:
                candidates = [r for r in pool.get(key, ()) if kind[r] == _owner(step)]
                if candidates:
                    chosen = candidates[-1]
                    pool[key].remove(chosen)
        if chosen is None:
            root[k] = k
            kind[k] = _owner(step)
        else:
            root[k] = chosen
            plan.out_for[k] = steps[holder[chosen]]
            reused_at[holder[chosen]] = k
        r = root[k]
        holder[r] = k
        storage_end[r] = end[k]
        ending.setdefault(end[k], []).append(r)

    # A storage none of whose holders is returned can come from a pool kept across calls, when its
    # first step writes with out= (a storage that reaches an output must be new in every call).
    plan.pooled = [k for k, r in root.items() if r == k and storage_end[r] != NEVER and takes_out(steps[k])]
    for k, step in enumerate(steps):
        if last_use[id(step)] == NEVER or step.op is CONSTANT:
            continue
        die = reused_at.get(k, last_use[id(step)])
        plan.release_after.setdefault(die, []).append(step)
    return plan


def _key(step: Step) -> tuple:
    return step.shape, step.dtype


def _owner(step: Step):
    return step.op if step.op.own_buffers else None
