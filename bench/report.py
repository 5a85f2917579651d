"""Figures of a comparison, derived from the measured runs, and the report in Markdown.

Definitions (also printed in the report):
* narratives/s, chunks/s: completed requests (HTTP 200) / time until the last one finished.
* serving CPU: CPU seconds of the side's processes during the run (baseline: its server;
  our stack: the gateway + the Triton tree, Python-backend stubs included).
* gateway CPU share: gateway CPU / (gateway + Triton CPU).
* padding ratio: padded tokens sent to the model / real tokens ([CLS]/[SEP] count as real).
* model FLOP/s: sum over answered chunks of FLOPs of one sequence at its padded length,
  / wall time; "useful" counts real lengths only. Compared with the numpy fp32 matmul
  ceiling measured in the same run.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.flops import ModelDims
from bench.loadgen import RunResult
from bench.schedulers import POLICIES
from bench.workload import WorkItem

BASELINE = "baseline"
OURS = ("fp32", "int8")
SIDES = (BASELINE, *OURS)


def gateway_of(side: str) -> str:
    return f"gateway_{side}"


def serving_processes(side: str) -> tuple[str, ...]:
    return (BASELINE,) if side == BASELINE else (gateway_of(side), "triton")


@dataclass
class Measured:
    side: str
    concurrency: int
    result: RunResult
    cpu_s: dict[str, float]  # from bench.cpu.used_between


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, digits)


def run_metrics(
    measured: Measured,
    items: Sequence[WorkItem],
    dims: ModelDims,
    max_length: int,
    ceiling_gflops: float,
    peak_gflops: float | None = None,
) -> dict[str, object]:
    result, side = measured.result, measured.side
    ok = [r for r in result.records if r.ok]
    wall = result.wall_s or float("nan")
    summary = result.summary()

    padded_tokens = real_tokens = 0
    padded_flops = useful_flops = 0.0
    mismatches = 0
    for record in ok:
        item = items[record.index]
        if side == BASELINE:
            chunk_lengths, length = item.baseline_chunks, max_length
        else:
            chunk_lengths = item.chunk_lengths
            length = record.bucket if record.bucket is not None else item.bucket
            if record.bucket is not None and record.bucket != item.bucket:
                mismatches += 1
        if record.chunks is not None and record.chunks != len(chunk_lengths):
            mismatches += 1
        padded_tokens += len(chunk_lengths) * length
        real_tokens += sum(chunk_lengths)
        padded_flops += len(chunk_lengths) * dims.flops(length)
        useful_flops += sum(dims.flops(n) for n in chunk_lengths)

    serving = sum(measured.cpu_s.get(name, 0.0) for name in serving_processes(side))
    share = None
    if side != BASELINE:
        gateway = measured.cpu_s.get(gateway_of(side), 0.0)
        total = gateway + measured.cpu_s.get("triton", 0.0)
        share = gateway / total if total else None
    gflops = padded_flops / wall / 1e9
    return {
        "side": side,
        "concurrency": measured.concurrency,
        **{k: _round(v, 4) if isinstance(v, float) else v for k, v in summary.items()},
        "mean_narrative_tokens": _round(sum(r.narrative_tokens for r in ok) / len(ok), 1)
        if ok
        else None,
        "cpu_s": {k: round(v, 3) for k, v in sorted(measured.cpu_s.items())},
        "serving_cpu_s": round(serving, 3),
        "serving_cores": _round(serving / wall),
        "cpu_ms_per_narrative": _round(serving * 1000 / len(ok), 1) if ok else None,
        "gateway_cpu_share": _round(share, 4),
        "other_load_cores": _round(measured.cpu_s.get("other", 0.0) / wall),
        "padding_ratio_served": _round(padded_tokens / real_tokens, 4) if real_tokens else None,
        "model_gflops": _round(gflops, 2),
        "model_gflops_useful": _round(useful_flops / wall / 1e9, 2),
        "share_of_ceiling": _round(gflops / ceiling_gflops, 4) if ceiling_gflops else None,
        "share_of_peak": _round(gflops / peak_gflops, 4) if peak_gflops else None,
        "layout_mismatches": mismatches,
    }


def ratios(runs: Sequence[Mapping[str, object]]) -> dict[str, dict[str, float | None]]:
    """Per concurrency: our narratives/s over the baseline's, and baseline CPU per narrative
    over ours (the second holds up better on a machine shared with other work)."""
    by_key = {(r["side"], r["concurrency"]): r for r in runs}
    out: dict[str, dict[str, float | None]] = {}
    for concurrency in sorted({int(r["concurrency"]) for r in runs}):
        base = by_key.get((BASELINE, concurrency))
        row: dict[str, float | None] = {}
        for side in OURS:
            ours = by_key.get((side, concurrency))
            speed = cpu = None
            if base and ours and base["narratives_per_s"]:
                speed = ours["narratives_per_s"] / base["narratives_per_s"]
            if base and ours and ours["cpu_ms_per_narrative"] and base["cpu_ms_per_narrative"]:
                cpu = base["cpu_ms_per_narrative"] / ours["cpu_ms_per_narrative"]
            row[f"{side}_vs_baseline_narratives_per_s"] = _round(speed, 3)
            row[f"{side}_vs_baseline_cpu_per_narrative"] = _round(cpu, 3)
        out[str(concurrency)] = row
    return out


def agreement(
    answers: Mapping[str, Mapping[int, str]],
    first: str,
    second: str,
    among: Collection[int] | None = None,
) -> dict[str, float | int | None]:
    """Share of the workload positions both sides answered (and in `among`, when given) where
    their main categories are equal."""
    common = set(answers.get(first, {})) & set(answers.get(second, {}))
    if among is not None:
        common &= set(among)
    agree = sum(answers[first][i] == answers[second][i] for i in common)
    rate = _round(agree / len(common), 4) if common else None
    return {"narratives": len(common), "agree": agree, "rate": rate}


def _worst(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def targets(report: Mapping[str, object]) -> list[dict[str, object]]:
    """The issue's targets, evaluated at the highest concurrency measured."""
    top = str(max(int(c) for c in report["ratios"]))
    ratio = report["ratios"][top]
    shares = report["gateway_cpu_share_at_max_concurrency"]
    share_values = [v for v in shares.values() if v is not None]
    rows = [
        ("int8 narratives/s vs baseline at concurrency " + top, ">= 5x",
         ratio["int8_vs_baseline_narratives_per_s"], lambda v: v >= 5.0),
        ("fp32 narratives/s vs baseline at concurrency " + top, ">= 2x",
         ratio["fp32_vs_baseline_narratives_per_s"], lambda v: v >= 2.0),
        ("padding ratio, our stack (workload)", "<= 1.15",
         report["padding"]["ours_bucketed"], lambda v: v <= 1.15),
        ("p99 / p50 latency at half the saturation throughput (worst precision)", "<= 2",
         _worst(v.get("p99_over_p50") for v in report["half_saturation"].values()),
         lambda v: v <= 2.0),
        ("p99 of latency at half saturation / the same narrative's latency alone "
         "(worst precision)", "<= 2",
         _worst((v.get("vs_alone") or {}).get("ratio_p99")
                for v in report["half_saturation"].values()),
         lambda v: v <= 2.0),
        ("gateway CPU share at concurrency " + top + " (worst precision)", "<= 15%",
         max(share_values) if share_values else None, lambda v: v <= 0.15),
        ("int8 vs fp32 main-category agreement", ">= 99%",
         report["agreement"]["int8_vs_fp32_main"]["rate"], lambda v: v >= 0.99),
    ]  # fmt: skip
    return [
        {"target": name, "goal": goal, "value": value, "met": None if value is None else ok(value)}
        for name, goal, value, ok in rows
    ]


# --- Markdown ---------------------------------------------------------------------------------


def _fmt(value: object, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def _pct(value: object) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _machine_line(host: Mapping[str, object]) -> str:
    """CPU model, cores, clock and the ISA features that move the ratios (bench.machine)."""
    machine = host.get("machine")
    if not isinstance(machine, Mapping):
        return f"{host['cpu_model']}, {host['cpu_count']} cores"
    flags = ", ".join(name for name, present in machine["isa"].items() if present) or "none"
    clock = machine["clock_mhz"]
    return (
        f"{machine['cpu_model']} ({machine['vendor']}, family {machine['family']}), "
        f"{machine['physical_cores']} cores / {machine['logical_cpus']} CPUs, "
        + (f"{clock:.0f} MHz from {machine['clock_source']}" if clock else "clock unknown")
        + f"; ISA: {flags}"
    )


def _peak_text(ceiling: Mapping[str, object]) -> str:
    peak = ceiling.get("cpu_fp32_peak_gflops")
    if not peak:
        return ""
    return (
        f"; the CPU's own fp32 peak ({ceiling['cpu_fp32_peak_basis']}) is **{peak:.1f} "
        f"GFLOP/s**, numpy reaches {_pct(ceiling['numpy_share_of_peak'])} of it"
    )


def _vs_alone_lines(half_saturation: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Latency under load over the same narrative's latency alone (bench.queueing)."""
    rows = []
    for side, h in half_saturation.items():
        q = h.get("vs_alone")
        if not isinstance(q, Mapping):
            continue
        met = q["met"]
        rows.append(
            [
                side,
                _fmt(q["ratio_p50"], 2),
                _fmt(q["ratio_p99"], 2),
                f"{'-' if met is None else ('yes' if met else '**no**')} (<= {q['target_p99']})",
                str(q["requests_compared"]),
                f"{q['narratives_measured_alone']}/{q['narratives_under_load']}",
                f"{q['narratives_without_alone']} ({q['requests_without_alone']} requests)",
            ]
        )
    if not rows:
        return []
    return [
        "Queueing, with the length mix taken out: each request's latency above over the same "
        "narrative's latency alone (sent again one at a time on the idle stack, same side).",
        "",
        *_table(
            [
                "side",
                "latency / alone p50",
                "p99",
                "p99 target met",
                "requests compared",
                "narratives measured alone",
                "without an alone figure (not compared)",
            ],
            rows,
        ),
        "",
    ]


def _floor_cell(found: object) -> str:
    if not isinstance(found, Mapping):
        return "-"
    up_to = found["meets_target_up_to_load"]
    return (
        f"{_fmt(found['ratio_p99'], 2)} / {_fmt(found.get('ratio_p99_half_busy'), 2)}; "
        f"<= 2 up to {'none' if up_to is None else _pct(up_to)}"
    )


def _floor_lines(half_saturation: Mapping[str, Mapping[str, object]]) -> list[str]:
    """The same arrivals through an ideal server per scheduling policy (bench.schedulers)."""
    rows = []
    for side, h in half_saturation.items():
        q = h.get("vs_alone")
        floors = q.get("floors") if isinstance(q, Mapping) else None
        if not isinstance(floors, Mapping) or not floors.get("policies"):
            continue
        cells = [_floor_cell(floors["policies"].get(policy)) for policy in POLICIES]
        rows.append([side, _fmt(q["ratio_p99"], 2), *cells, _fmt(floors["model_utilization"], 2)])
    if not rows:
        return []
    return [
        "The same arrivals through an ideal server that runs each narrative at its alone speed "
        "(bench.schedulers). Per scheduling policy: the p99 of latency / alone it would give "
        "at this run's arrivals / with them stretched until the model's server is exactly "
        "half busy; the highest load (share of saturation, simulated down to 5%) at which "
        "it stays within 2. "
        "fifo is Triton's queue; sjf the shortest waiting narrative next (size-based "
        "priority, no preemption); ps equal shares; srpt the shortest remaining work first, "
        "preempting (the floor for any policy).",
        "",
        *_table(
            ["side", "measured p99", *POLICIES, "model utilization"],
            rows,
        ),
        "",
    ]


def render_markdown(report: Mapping[str, object]) -> str:
    host, model, wl = report["host"], report["model"], report["workload"]
    ceiling = report["ceiling"]
    lines = [
        f"# Serving benchmark: the legacy path vs Triton stack ({report['created_at']})",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {_machine_line(host)}; load average at start "
        f"{host['loadavg_start']}, at end {host['loadavg_end']}. Measured fp32 matmul ceiling "
        f"(numpy {ceiling['size']}x{ceiling['size']}, {ceiling['seconds']} s): "
        f"**{ceiling['numpy_fp32_matmul_gflops']:.1f} GFLOP/s** (other work on the machine "
        f"meanwhile: {ceiling['other_load_cores']:.2f} cores)" + _peak_text(ceiling) + ".",
        "",
        f"Model: {model['description']}; dim {model['dims']['dim']}, hidden "
        f"{model['dims']['hidden_dim']}, {model['dims']['n_layers']} layers, "
        f"{model['dims']['n_heads']} heads, max length {model['max_length']} (our gateway "
        f"chunks at {model.get('served_max_length', model['max_length'])}); "
        f"{model['gflop_per_512_sequence']:.2f} GFLOP per 512-token sequence."
        + (
            " **The weights are random** (no trained checkpoint given): speed does not depend"
            " on the weights, answers are meaningless."
            if model["random_weights"]
            else ""
        ),
        "",
        f"Workload: {wl['narratives']} narratives from {wl['source']} (seed {wl['seed']}); "
        f"words mean {wl['words']['mean']} (max {wl['words']['max']:.0f}); tokens mean "
        f"{wl['tokens']['mean']}, p50 {wl['tokens']['p50']}, p90 {wl['tokens']['p90']}, "
        f"p99 {wl['tokens']['p99']}, max {wl['tokens']['max']:.0f}; "
        f"{wl['chunks_per_narrative']} chunks per narrative, share by chunk count "
        f"{wl['share_by_chunks']}; buckets {wl['share_by_bucket']}.",
        "",
        "Sides: **baseline** = the legacy path (FastAPI + PyTorch fp32 eager, one worker, every "
        "chunk padded to 512, batch size 1, chunks one after another); **fp32** / **int8** = "
        "gateway + Triton (Python backend + ONNX Runtime) serving the fp32-opt / "
        f"{report['export']['int8']['precision']} export, "
        "pinned with TRIAGE_MODEL_VERSION. Closed loop, "
        f"{report['settings']['duration_s']} s or {report['settings']['requests']} requests "
        "per run, whichever ends first; every run starts at the same workload position. "
        f"Threads: baseline torch {report['settings']['baseline_torch_threads']}, Triton's "
        f"ONNX Runtime intra-op {report['settings']['triton_onnxruntime_intra_op_threads']} "
        f"on each of {report['settings'].get('triton_row_workers') or 1} row threads in each "
        f"of {report['settings'].get('triton_instances')} model instances.",
        "",
        "## Results",
        "",
    ]
    rows = []
    ratio_rows = report["ratios"]
    for run in report["runs"]:
        ratio = None
        if run["side"] != BASELINE:
            ratio = ratio_rows[str(run["concurrency"])][
                f"{run['side']}_vs_baseline_narratives_per_s"
            ]
        rows.append(
            [
                str(run["concurrency"]),
                run["side"],
                _fmt(run["narratives_per_s"], 2),
                _fmt(ratio, 2, "x"),
                _fmt(run["chunks_per_s"], 2),
                _fmt(run["latency_p50_ms"], 0),
                _fmt(run["latency_p95_ms"], 0),
                _fmt(run["latency_p99_ms"], 0),
                _pct(run["error_rate"]),
                f"{run['ok']}/{run['requests']}",
                _fmt(run["mean_narrative_tokens"], 0),
                _fmt(run["serving_cores"], 2),
                _fmt(run["cpu_ms_per_narrative"], 0),
                _pct(run["gateway_cpu_share"]),
                _fmt(run["padding_ratio_served"], 3),
                f"{_fmt(run['model_gflops'], 1)} ({_pct(run['share_of_ceiling'])})",
                _fmt(run["other_load_cores"], 2),
            ]
        )
    lines += _table(
        [
            "conc.",
            "side",
            "narr/s",
            "vs baseline",
            "chunks/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "ok/sent",
            "mean tokens",
            "serving cores",
            "CPU ms/narr",
            "gateway CPU share",
            "padding",
            "model GFLOP/s (of ceiling)",
            "other load (cores)",
        ],
        rows,
    )
    lines += [
        "",
        "`other load` is CPU used on the machine by processes outside this benchmark during "
        "the run (this machine is shared): where it is high, throughput is understated, while "
        "CPU ms per narrative is less affected.",
        "",
        "### Ratios to the baseline",
        "",
    ]
    lines += _table(
        [
            "concurrency",
            "int8 / baseline narr/s",
            "fp32 / baseline narr/s",
            "baseline / int8 CPU per narr.",
            "baseline / fp32 CPU per narr.",
        ],
        [
            [
                c,
                _fmt(r["int8_vs_baseline_narratives_per_s"], 2, "x"),
                _fmt(r["fp32_vs_baseline_narratives_per_s"], 2, "x"),
                _fmt(r["int8_vs_baseline_cpu_per_narrative"], 2, "x"),
                _fmt(r["fp32_vs_baseline_cpu_per_narrative"], 2, "x"),
            ]
            for c, r in ratio_rows.items()
        ],
    )
    lines += ["", "### CPU seconds by process, per run", ""]
    names = sorted({name for run in report["runs"] for name in run["cpu_s"]})
    lines += _table(
        ["conc.", "side", "wall s", *names],
        [
            [str(run["concurrency"]), run["side"], _fmt(run["wall_s"], 1)]
            + [_fmt(run["cpu_s"].get(n), 2) for n in names]
            for run in report["runs"]
        ],
    )
    padding, agree = report["padding"], report["agreement"]
    lines += [
        "",
        "## Padding",
        "",
        f"* our stack (each narrative's chunks padded to the smallest bucket holding its "
        f"longest chunk, buckets {report['settings']['buckets']}): "
        f"**{padding['ours_bucketed']:.3f}**",
        f"* baseline (every chunk padded to {model['max_length']}): "
        f"**{padding['baseline_pad_to_max']:.3f}**",
        f"* what-if, each chunk padded to its own bucket: {padding['if_bucketed_per_chunk']:.3f}",
        "",
        "## Latency at half the saturation throughput",
        "",
        "Open loop: Poisson arrivals at half the best closed-loop throughput of that side.",
        "",
        *_table(
            [
                "side",
                "saturation /s",
                "offered /s",
                "achieved /s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "p99/p50",
                "p99/p50 per padded token",
                "errors",
            ],
            [
                [
                    side,
                    _fmt(h["saturation_narratives_per_s"], 2),
                    _fmt(h["offered_narratives_per_s"], 2),
                    _fmt(h["achieved_narratives_per_s"], 2),
                    _fmt(h["latency_p50_ms"]),
                    _fmt(h["latency_p95_ms"]),
                    _fmt(h["latency_p99_ms"]),
                    _fmt(h["p99_over_p50"], 2),
                    _fmt(h.get("p99_over_p50_per_padded_token"), 2),
                    _pct(h["error_rate"]),
                ]
                for side, h in report["half_saturation"].items()
            ],
        ),  # fmt: skip
        "",
        *_vs_alone_lines(report["half_saturation"]),
        *_floor_lines(report["half_saturation"]),
        "## Agreement (main category, over the workload)",
        "",
        f"* int8 vs fp32: **{_pct(agree['int8_vs_fp32_main']['rate'])}** "
        f"({agree['int8_vs_fp32_main']['agree']}/{agree['int8_vs_fp32_main']['narratives']}"
        f"; narratives the timed runs did not reach were sent once more to complete the set: "
        f"{agree['filled_in_requests']})",
        f"* int8 vs fp32 where fp32 is not in the review band (main confidence >= "
        f"{agree['review_band_below']}; the gateway flags lower ones for a counsellor's "
        f"review): {_pct(agree['int8_vs_fp32_main_outside_review']['rate'])} "
        f"({agree['int8_vs_fp32_main_outside_review']['agree']}/"
        f"{agree['int8_vs_fp32_main_outside_review']['narratives']})",
        f"* fp32 (ONNX, bucketed) vs baseline (PyTorch, padded to 512): "
        f"{_pct(agree['fp32_vs_baseline_main']['rate'])} over the "
        f"{agree['fp32_vs_baseline_main']['narratives']} narratives the baseline answered",
        "",
        "## Targets",
        "",
    ]
    lines += _table(
        ["target", "goal", "measured", "met"],
        [
            [
                t["target"],
                t["goal"],
                _fmt(t["value"], 3),
                "-" if t["met"] is None else ("yes" if t["met"] else "**no**"),
            ]
            for t in report["targets"]
        ],
    )
    lines += ["", "## Plots", ""]
    lines += [f"![{name}]({name})" for name in report["plots"]]
    lines += ["", "## Notes", ""] + [f"* {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"
