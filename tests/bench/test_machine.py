"""bench.machine: CPU model, ISA flags, cores and the fp32 peak, from /proc/cpuinfo text
(samples of an AMD and two Intel machines) and from this machine's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.machine import ISA_FLAGS, describe, this_machine
from bench.report import _machine_line

# The shape of this week's VM (2 vCPUs of an AMD EPYC Zen 4), flags cut to the relevant ones.
AMD_ZEN4 = "".join(
    f"""processor\t: {i}
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
cpu MHz\t\t: 2596.142
physical id\t: 0
siblings\t: 2
core id\t\t: {i}
cpu cores\t: 2
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512dq avx512bw avx512_bf16 avx512_vnni

"""
    for i in range(2)
)
# A Sapphire Rapids Xeon with hyper-threading: 4 logical CPUs on 2 cores, AMX.
INTEL_SPR = "".join(
    f"""processor\t: {i}
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
cpu MHz\t\t: 2000.000
physical id\t: 0
siblings\t: 4
core id\t\t: {i // 2}
cpu cores\t: 2
flags\t\t: fpu sse avx fma avx2 avx512f avx512_vnni avx512_bf16 avx_vnni amx_bf16 amx_tile amx_int8

"""
    for i in range(4)
)
INTEL_HASWELL = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 63
model name\t: Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz
cpu MHz\t\t: 1200.000
siblings\t: 1
cpu cores\t: 1
flags\t\t: fpu sse avx fma avx2
"""


def test_amd_zen4_runs_avx512_on_256_bit_pipes() -> None:
    machine = describe(AMD_ZEN4)
    assert machine.cpu_model == "AMD EPYC" and machine.vendor == "AuthenticAMD"
    assert (machine.logical_cpus, machine.threads_per_core, machine.physical_cores) == (2, 1, 2)
    assert machine.isa == {
        "avx2": True,
        "fma": True,
        "avx512f": True,
        "avx512_vnni": True,
        "avx_vnni": False,
        "avx512_bf16": True,
        "amx_tile": False,
        "amx_bf16": False,
        "amx_int8": False,
    }
    assert machine.fp32_flops_per_cycle == 32
    assert machine.clock_source == "/proc/cpuinfo 'cpu MHz'"
    assert machine.fp32_peak_gflops == pytest.approx(2 * 2.596142 * 32, abs=0.1)


def test_intel_with_amx_and_hyperthreads() -> None:
    machine = describe(INTEL_SPR, max_mhz=3800.0)
    assert (machine.logical_cpus, machine.threads_per_core, machine.physical_cores) == (4, 2, 2)
    assert machine.isa["amx_tile"] and machine.isa["amx_bf16"] and machine.isa["amx_int8"]
    assert machine.fp32_flops_per_cycle == 64
    # cpufreq's maximum wins over the current "cpu MHz", and says so.
    assert machine.clock_mhz == 3800.0 and "cpufreq max" in machine.clock_source
    assert machine.fp32_peak_gflops == pytest.approx(2 * 3.8 * 64)
    # Only the CPUs this process may use count.
    assert describe(INTEL_SPR, logical_cpus=2).physical_cores == 1


def test_avx2_machine_and_a_cpu_without_clock() -> None:
    machine = describe(INTEL_HASWELL)
    assert machine.fp32_flops_per_cycle == 32 and not machine.isa["avx512f"]
    assert machine.fp32_peak_gflops == pytest.approx(1 * 1.2 * 32)
    arm = describe("processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n")
    assert arm.fp32_peak_gflops is None and arm.clock_source == "unknown"
    assert arm.cpu_model == "unknown CPU"


def test_this_machine_from_its_real_cpuinfo() -> None:
    machine = this_machine()
    cpuinfo = Path("/proc/cpuinfo").read_text()
    assert machine.logical_cpus == len(os.sched_getaffinity(0))
    assert machine.physical_cores >= 1
    assert set(machine.isa) == set(ISA_FLAGS)
    flags = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "").split()
    assert machine.isa == {name: name in flags for name in ISA_FLAGS}
    if machine.clock_mhz:
        assert machine.fp32_peak_gflops and machine.fp32_peak_gflops > 0
    assert machine.cpu_model in machine.summary()


def test_the_report_names_the_machine() -> None:
    host = {"cpu_model": "AMD EPYC", "cpu_count": 2, "machine": describe(AMD_ZEN4).as_dict()}
    line = _machine_line(host)
    assert "AMD EPYC" in line and "avx512_vnni" in line and "2596 MHz" in line
    assert "amx" not in line
