"""CPU time of process trees and of the whole machine, read from /proc (Linux only).

A process's utime + stime covers all its threads; children are separate processes
(Triton's Python backend runs each model instance in a `triton_python_backend_stub`
child), so a tree is summed by walking /proc for descendants by parent pid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def _parent_map() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants alive now."""
    children: dict[int, list[int]] = {}
    for child, parent in _parent_map().items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process (all threads), seconds; 0 when it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: state(0) ppid(1) ... utime(11) stime(12).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_s(pid: int) -> float:
    return sum(process_cpu_s(p) for p in process_tree(pid))


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    total = sum(values[:8])
    idle = values[3] + values[4]
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSnapshot:
    per_process: dict[str, float]  # name -> CPU seconds of its tree
    machine_busy: float
    machine_total: float


def snapshot(pids: dict[str, int]) -> CpuSnapshot:
    busy, total = machine_cpu_s()
    per_process = {name: tree_cpu_s(pid) for name, pid in pids.items()}
    per_process["load_generator"] = process_cpu_s(os.getpid())
    return CpuSnapshot(per_process, busy, total)


def used_between(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds used between two snapshots, per process, plus the machine's busy time,
    and `other` = busy time of everything else on the machine (other users' work)."""
    used = {
        name: max(0.0, after.per_process[name] - before.per_process.get(name, 0.0))
        for name in after.per_process
    }
    machine = after.machine_busy - before.machine_busy
    used["machine_busy"] = machine
    used["other"] = max(0.0, machine - sum(v for k, v in used.items() if k != "machine_busy"))
    return used
