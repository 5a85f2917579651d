"""The machine a benchmark ran on: CPU model, the ISA features that decide int8 / bf16 / fp32
speed, cores, and an fp32 peak computed from the CPU's own specification.

Ratios between serving paths move with the CPU (VNNI makes int8 matmuls cheap, AMX more so,
AVX-512 doubles fp32 lanes), so every report names these. Linux only: read from
/proc/cpuinfo and /sys.

The fp32 peak is cores x clock x fp32 FLOPs per cycle per core:
* Intel with AVX-512: 2 FMA units x 16 lanes x 2 FLOPs = 64 (Xeon Scalable Gold/Platinum and
  later; some Silver/Bronze parts have one 512-bit FMA unit, half of this);
* AMD family 0x19 (Zen 3 / Zen 4): 2 x 256-bit FMA pipes; Zen 4 runs AVX-512 as two 256-bit
  halves, so 2 x 8 x 2 = 32; AMD family 0x1A (Zen 5) has 512-bit pipes: 64;
* AVX2 + FMA: 2 x 8 x 2 = 32; AVX without FMA: one 8-lane add + one 8-lane multiply = 16;
  SSE only: 8.
Cores are physical cores this process may run on (hyper-threads share FMA units). The clock
is the CPU's maximum from cpufreq (what `lscpu` prints as "CPU max MHz") where the kernel
exposes it, else /proc/cpuinfo's "cpu MHz" (the current or, in most VMs, nominal clock);
`clock_source` says which. Real sustained matmul speed is lower (clock under all-core AVX
load, memory); `bench.flops.matmul_ceiling_gflops` measures numpy's.

NVIDIA GPUs, where `nvidia-smi` is present: name, driver, memory and compute capability of
each (`gpus`; empty on a machine without one), for the GPU benchmark (bench/gpu.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

# cpuinfo flags that matter for this model's CPU paths, in report order.
ISA_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
CPUFREQ_MAX = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
# nvidia-smi --query-gpu fields, in the order parse_nvidia_smi expects them.
GPU_QUERY = ("name", "driver_version", "memory.total", "compute_cap")


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    vendor: str
    family: int | None
    logical_cpus: int  # this process may run on (affinity), all sockets
    threads_per_core: int
    physical_cores: int  # logical_cpus / threads_per_core, at least 1
    isa: dict[str, bool]
    clock_mhz: float | None
    clock_source: str
    fp32_flops_per_cycle: int
    fp32_peak_basis: str
    fp32_peak_gflops: float | None
    gpus: tuple[dict[str, object], ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def summary(self) -> str:
        """One line for logs and reports."""
        flags = ", ".join(name for name, present in self.isa.items() if present) or "none"
        clock = f"{self.clock_mhz:.0f} MHz ({self.clock_source})" if self.clock_mhz else "?"
        peak = f"{self.fp32_peak_gflops:.0f}" if self.fp32_peak_gflops else "?"
        line = (
            f"{self.cpu_model}: {self.physical_cores} cores / {self.logical_cpus} CPUs, "
            f"{clock}; ISA {flags}; fp32 peak {peak} GFLOP/s ({self.fp32_peak_basis})"
        )
        return line + "".join(f"; GPU {gpu_summary(gpu)}" for gpu in self.gpus)


def gpu_summary(gpu: dict[str, object]) -> str:
    """One GPU in words: name, memory, compute capability, driver."""
    memory = f", {gpu['memory_mib']} MiB" if gpu.get("memory_mib") else ""
    capability = f", compute {gpu['compute_cap']}" if gpu.get("compute_cap") else ""
    return f"{gpu['name']}{memory}{capability}, driver {gpu.get('driver') or '?'}"


def parse_nvidia_smi(csv_text: str) -> tuple[dict[str, object], ...]:
    """The GPUs in `nvidia-smi --query-gpu=<GPU_QUERY> --format=csv,noheader,nounits`
    output, one line each; a field the driver does not know reads "[N/A]" or similar."""
    found = []
    for line in csv_text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != len(GPU_QUERY) or not fields[0]:
            continue
        name, driver, memory, capability = fields
        known = [None if v.startswith("[") or v.upper() == "N/A" else v for v in fields]
        found.append(
            {
                "name": name,
                "driver": known[1],
                "memory_mib": _int(memory) if known[2] else None,
                "compute_cap": known[3] if known[3] else None,
            }
        )
    return tuple(found)


def nvidia_gpus(timeout_s: float = 10.0) -> tuple[dict[str, object], ...]:
    """This machine's NVIDIA GPUs; none where nvidia-smi is absent or fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    # Drivers before 510 know no compute_cap field and refuse the whole query.
    for fields, tail in ((GPU_QUERY, ""), (GPU_QUERY[:-1], ", [N/A]")):
        try:
            done = subprocess.run(
                [smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return ()
        if done.returncode == 0:
            return parse_nvidia_smi("\n".join(f"{ln}{tail}" for ln in done.stdout.splitlines()))
    return ()


def _first_block(cpuinfo: str) -> dict[str, str]:
    """The fields of the first processor in /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def fp32_flops_per_cycle(vendor: str, family: int | None, isa: dict[str, bool]) -> tuple[int, str]:
    """(fp32 FLOPs per cycle per core, how it is made up); see the module docstring."""
    amd = vendor == "AuthenticAMD"
    if isa.get("avx512f"):
        if amd and family is not None and family < 0x1A:
            return 32, "2 FMA x 8 lanes x 2 (Zen 4: AVX-512 as two 256-bit halves)"
        return 64, "2 FMA x 16 lanes x 2 (AVX-512)"
    if isa.get("fma") and isa.get("avx2"):
        return 32, "2 FMA x 8 lanes x 2 (AVX2)"
    if isa.get("avx"):
        return 16, "8-lane add + 8-lane multiply (AVX, no FMA)"
    return 8, "4-lane add + 4-lane multiply (SSE)"


def describe(
    cpuinfo: str,
    *,
    logical_cpus: int | None = None,
    max_mhz: float | None = None,
) -> Machine:
    """The machine from /proc/cpuinfo text; `logical_cpus` defaults to the processors listed,
    `max_mhz` (cpufreq's maximum) to none, in which case "cpu MHz" is the clock."""
    first = _first_block(cpuinfo)
    flags = set(first.get("flags", "").split())
    isa = {name: name in flags for name in ISA_FLAGS}
    isa["avx"] = "avx" in flags  # decides the no-FMA peak; not listed in reports
    listed = len(re.findall(r"^processor\s*:", cpuinfo, flags=re.MULTILINE))
    logical = logical_cpus or listed or 1
    siblings, cores = _int(first.get("siblings")), _int(first.get("cpu cores"))
    threads = max(1, siblings // cores) if siblings and cores else 1
    physical = max(1, logical // threads)
    vendor = first.get("vendor_id", "unknown")
    family = _int(first.get("cpu family"))
    per_cycle, basis = fp32_flops_per_cycle(vendor, family, isa)
    if max_mhz:
        clock, source = max_mhz, "cpufreq max (lscpu 'CPU max MHz')"
    else:
        mhz = first.get("cpu MHz")
        clock = float(mhz) if mhz else None
        source = "/proc/cpuinfo 'cpu MHz'" if clock else "unknown"
    peak = physical * clock * 1e6 * per_cycle / 1e9 if clock else None
    isa.pop("avx")
    return Machine(
        cpu_model=first.get("model name", "unknown CPU"),
        vendor=vendor,
        family=family,
        logical_cpus=logical,
        threads_per_core=threads,
        physical_cores=physical,
        isa=isa,
        clock_mhz=round(clock, 1) if clock else None,
        clock_source=source,
        fp32_flops_per_cycle=per_cycle,
        fp32_peak_basis=f"{physical} cores x clock x {basis}",
        fp32_peak_gflops=round(peak, 1) if peak else None,
    )


def _cpufreq_max_mhz() -> float | None:
    try:
        return int(CPUFREQ_MAX.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


def this_machine() -> Machine:
    """The machine this process runs on (the CPUs its affinity allows, its NVIDIA GPUs)."""
    machine = describe(
        Path("/proc/cpuinfo").read_text(),
        logical_cpus=len(os.sched_getaffinity(0)),
        max_mhz=_cpufreq_max_mhz(),
    )
    gpus = nvidia_gpus()
    return Machine(**{**asdict(machine), "gpus": gpus}) if gpus else machine


if __name__ == "__main__":
    print(this_machine().summary())
