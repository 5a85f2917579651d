"""The readable evaluation report: `report.md` and PNG charts from `evaluate_rows` metrics.

Markdown: per-head accuracy / F1 table, per-class precision / recall / F1 tables, and the
most confused pairs per head (with the category-embedding similarity when it was added).
PNGs: per-class F1 bars and a row-normalized confusion heatmap per head, sized so that
the 65 sub-categories stay legible. For a checkpoint also: a reliability diagram per head
before and after calibration, and most-severe recall against false-alarm rate with the
chosen operating point marked.

Figures are drawn on `matplotlib.figure.Figure` objects rendered by the Agg canvas, never
through pyplot: no GUI backend, no global figure state, safe in servers and tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpline_model.calibration import wilson_interval
from helpline_model.layout import HEADS

REPORT_FILE = "report.md"
# Pairs at or above this rank among all label pairs of a head count as close in meaning.
CLOSE_PERCENTILE = 0.5


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _similarity_text(pair: dict) -> str:
    similarity = pair.get("similarity") or {}
    if not similarity:
        return ""
    parts = []
    for source, values in similarity.items():
        percentile = values["percentile"]
        verdict = "close in meaning" if percentile >= CLOSE_PERCENTILE else "far apart"
        parts.append(f"{source}: {values['cosine']:.3f} (p{percentile * 100:.0f}, {verdict})")
    return "; ".join(parts)


def markdown_report(metrics: dict, title: str = "Evaluation report") -> str:
    heads = metrics["heads"]
    lines = [f"# {title}", ""]
    source = metrics.get("source")
    if source:
        lines.append("- Source: " + ", ".join(f"{k} `{v}`" for k, v in source.items()))
    if metrics.get("data"):
        lines.append(f"- Data: `{metrics['data']}`, {metrics['n']} rows evaluated")
    else:
        lines.append(f"- Rows: {metrics['n']}")
    cleaning = metrics.get("cleaning") or {}
    if cleaning.get("rejected"):
        lines.append(
            f"- Rows left out by label cleaning: {cleaning['rejected']} of {cleaning.get('read')} "
            "(reasons in metrics.json)"
        )
    if metrics.get("created_at"):
        lines.append(f"- Created: {metrics['created_at']}")
    lines += [
        "",
        "Macro averages run over the classes present in the truth or the predictions.",
        "",
        "## Summary",
        "",
    ]
    lines += _table(
        ["head", "accuracy", "micro F1", "macro F1", "weighted F1", "classes"],
        [
            [
                head,
                f"{heads[head]['accuracy']:.4f}",
                f"{heads[head]['micro_f1']:.4f}",
                f"{heads[head]['macro_f1']:.4f}",
                f"{heads[head]['weighted_f1']:.4f}",
                len(heads[head]["labels"]),
            ]
            for head in HEADS
            if head in heads
        ],
    )
    lines += [
        "",
        f"Average accuracy {metrics['average_accuracy']:.4f}, "
        f"average macro F1 {metrics['average_macro_f1']:.4f}.",
        "",
    ]

    if metrics.get("calibration"):
        lines += calibration_lines(metrics["calibration"])

    for head in HEADS:
        if head not in heads:
            continue
        m = heads[head]
        lines += [f"## {head}", "", f"![F1 per class](f1_{head}.png)", ""]
        lines += [f"![Confusion matrix](confusion_{head}.png)", ""]
        if m.get("unknown_labels"):
            lines += [f"Labels outside the model's vocabulary: {m['unknown_labels']}", ""]
        lines += ["### Most confused pairs", ""]
        pairs = m.get("most_confused") or []
        if pairs:
            with_similarity = any(p.get("similarity") for p in pairs)
            header = ["true", "predicted", "count", "share of true class"]
            header += ["embedding similarity"] if with_similarity else []
            rows = []
            for p in pairs:
                row = [p["true"], p["predicted"], p["count"], f"{p['share_of_true']:.1%}"]
                rows.append(row + ([_similarity_text(p)] if with_similarity else []))
            lines += _table(header, rows)
            if with_similarity:
                lines += [
                    "",
                    "Similarity: cosine of the two categories' embeddings and its rank among "
                    f"all pairs of {head} labels (p{CLOSE_PERCENTILE * 100:.0f} and above: "
                    "close in meaning, i.e. an expected confusion; below: far apart, worth "
                    "checking the labels or the data).",
                ]
        else:
            lines.append("No confusions.")
        lines += ["", "### Per class", ""]
        lines += _table(
            ["label", "precision", "recall", "F1", "support", "tp", "fp", "fn"],
            [
                [
                    label,
                    f"{c['precision']:.3f}",
                    f"{c['recall']:.3f}",
                    f"{c['f1']:.3f}",
                    c["support"],
                    c["tp"],
                    c["fp"],
                    c["fn"],
                ]
                for label, c in m["per_class"].items()
            ],
        )
        lines.append("")
    return "\n".join(lines)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _threshold(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _recall_interval(summary: dict) -> str:
    recall, n = summary.get("most_severe_recall"), summary.get("n_most_severe")
    if recall is None or not n:
        return ""
    low, high = wilson_interval(recall, n)
    return f"; shipped recall {recall:.3f}, 95% interval {low:.3f}-{high:.3f}"


def calibration_lines(calibration: dict) -> list[str]:
    """Served figures at the shipped operating point, ECE per head before / after the
    temperatures, and where the operating point was chosen."""
    lines = ["## Calibration and escalation", ""]
    point = calibration.get("operating_point")
    if not calibration.get("calibrated"):
        lines += ["Not calibrated (no calibration.json): temperature 1, threshold as shipped.", ""]
    elif point:
        lines += [f"Operating point: {point['description']}.", ""]
    rows = []
    for name in ("shipped", "uncalibrated"):
        summary = calibration[name]
        rows.append(
            [
                name,
                f"{summary['main_accuracy']:.3f}",
                f"{summary['sub_accuracy']:.3f}",
                _rate(summary.get("most_severe_recall")),
                _rate(summary.get("false_alarm_rate")),
                _threshold(summary.get("escalation_threshold")),
                f"{summary['ece']['main']:.3f}",
                _rate(summary.get("ece_served_main")),
                f"{summary['ece']['priority']:.3f}",
            ]
        )
    lines += _table(
        [
            "served as",
            "main acc",
            "sub acc",
            "most-severe recall",
            "false alarms",
            "threshold",
            "ECE main",
            "ECE main (served, per case)",
            "ECE priority",
        ],
        rows,
    )
    shipped = calibration["shipped"]
    lines += [
        "",
        f"Most severe level {shipped.get('most_severe')!r}: {shipped.get('n_most_severe')} of "
        f"{shipped['n']} rows{_recall_interval(shipped)}. Recall and false alarms count the "
        "reported priority (the vote or an escalation).",
        "",
        "ECE (top label, 15 bins, over chunks) per head:",
        "",
    ]
    after = calibration.get("after")
    lines += _table(
        ["head", "before", "after"],
        [
            [
                head,
                f"{calibration['before'][head]['ece']:.4f}",
                f"{after[head]['ece']:.4f}" if after else "-",
            ]
            for head in HEADS
        ],
    )
    lines += [""]
    lines += [f"![Reliability {head}](reliability_{head}.png)" for head in HEADS]
    if calibration.get("curve") or calibration.get("validation_curve"):
        lines += ["", "![Most-severe recall against false alarms](recall_false_alarms.png)"]
    return [*lines, ""]


def reliability_chart(head: str, calibration: dict, path: Path) -> Path:
    """Accuracy against mean confidence per bin, before and after the temperature."""
    figure = Figure(figsize=(4.5, 4.5))
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
    curves = [("before", calibration["before"], "#c44e52")]
    if calibration.get("after"):
        curves.append(("after", calibration["after"], "#4c72b0"))
    for name, metrics, color in curves:
        bins = [b for b in metrics[head]["reliability"] if b["count"]]
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            color=color,
            label=f"{name} (ECE {metrics[head]['ece']:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{head}: reliability", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    figure.subplots_adjust(left=0.14, right=0.96, bottom=0.12, top=0.92)
    return _save(figure, path)


def recall_chart(calibration: dict, path: Path) -> Path:
    """Most-severe recall against false-alarm rate: the validation curve the threshold was
    chosen on, the curve on the evaluated rows, and the chosen point on both."""
    figure = Figure(figsize=(5.5, 4.5))
    ax = figure.add_subplot()
    for key, name, color in (
        ("validation_curve", "validation (chosen on)", "#4c72b0"),
        ("curve", "these rows", "#dd8452"),
    ):
        curve = calibration.get(key)
        if curve:
            points = sorted(curve, key=lambda p: (p[2], p[1]))
            ax.step(
                [0.0] + [p[2] for p in points],
                [0.0] + [p[1] for p in points],
                where="post",
                color=color,
                label=name,
            )
    point = calibration.get("operating_point")
    shipped = calibration["shipped"]
    if point:
        ax.plot(point["false_alarm_rate"], point["recall"], "o", color="#4c72b0", markersize=8)
        ax.axhline(point["target_recall"], color="#999999", linestyle=":", linewidth=1)
    if shipped.get("most_severe_recall") is not None:
        ax.plot(
            shipped["false_alarm_rate"],
            shipped["most_severe_recall"],
            "s",
            color="#dd8452",
            markersize=8,
            label=f"shipped threshold {_threshold(shipped.get('escalation_threshold'))}",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false-alarm rate")
    ax.set_ylabel("recall of the most severe level")
    ax.set_title("Escalation operating point", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    figure.subplots_adjust(left=0.13, right=0.96, bottom=0.12, top=0.92)
    return _save(figure, path)


def _save(figure: Figure, path: Path, dpi: int = 120) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=dpi)
    return path


def _font_size(n_labels: int) -> float:
    return float(np.clip(160 / max(n_labels, 1), 4.5, 9))


def _text_inches(texts: list[str], font: float) -> float:
    """Rough width of the longest text. Margins are set from it instead of tight_layout,
    which draws every figure twice (slow for the 65-class charts)."""
    return max((len(t) for t in texts), default=1) * font * 0.52 / 72 + 0.1


def f1_chart(head: str, head_metrics: dict, path: Path) -> Path:
    """Horizontal bars (labels stay readable), classes without support greyed."""
    labels = head_metrics["labels"]
    per_class = head_metrics["per_class"]
    f1 = [per_class[label]["f1"] for label in labels]
    support = [per_class[label]["support"] for label in labels]
    names = [f"{label} (n={s})" for label, s in zip(labels, support, strict=True)]
    n = len(labels)
    font = _font_size(n)
    left = _text_inches(names, font) + 0.2
    width, height = left + 6.0, max(2.5, 0.18 * n + 1.2)
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=left / width, right=1 - 0.3 / width, bottom=0.6 / height, top=1 - 0.45 / height
    )
    ax = figure.add_subplot()
    colors = ["#4c72b0" if s > 0 else "#bbbbbb" for s in support]
    positions = np.arange(n)
    ax.barh(positions, f1, color=colors)
    ax.set_yticks(positions, names)
    ax.tick_params(axis="y", labelsize=font)
    ax.set_ylim(n - 0.5, -0.5)  # first label on top, no empty margins
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.axvline(head_metrics["macro_f1"], color="#c44e52", linestyle="--", linewidth=1)
    ax.set_title(
        f"{head}: F1 per class (macro {head_metrics['macro_f1']:.3f}, "
        f"accuracy {head_metrics['accuracy']:.3f})",
        fontsize=10,
    )
    return _save(figure, path)


def confusion_chart(head: str, head_metrics: dict, path: Path) -> Path:
    """Rows normalized to the true class (recall on the diagonal); empty rows stay white."""
    labels = head_metrics["labels"]
    matrix = np.asarray(head_metrics["confusion_matrix"], dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    normalized = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    n = len(labels)
    font = _font_size(n)
    side = float(np.clip(0.16 * n + 2.0, 3, 14))
    margin = _text_inches(labels, font) + 0.45  # tick labels and the axis title
    width, height = side + margin + 1.3, side + margin + 0.5
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=margin / width,
        right=1 - 0.55 / width,  # the colorbar's tick labels
        bottom=margin / height,
        top=1 - 0.4 / height,
    )
    ax = figure.add_subplot()
    image = ax.imshow(normalized, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    ticks = np.arange(n)
    ax.set_xticks(ticks, labels, rotation=90, fontsize=font)
    ax.set_yticks(ticks, labels, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{head}: confusion matrix (rows normalized)", fontsize=10)
    if n <= 12:
        # Counts only fit in the cells of small matrices.
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    color = "white" if normalized[i, j] > 0.5 else "black"
                    ax.text(
                        j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7, color=color
                    )
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    # The 65 sub-category names are set small; more pixels keep them legible.
    return _save(figure, path, dpi=150 if n > 30 else 120)


def write_report(metrics: dict, out_dir: Path, title: str = "Evaluation report") -> list[Path]:
    """report.md first, then f1_{head}.png and confusion_{head}.png per head."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / REPORT_FILE
    report.write_text(markdown_report(metrics, title))
    written = [report]
    for head in HEADS:
        if head in metrics["heads"]:
            written.append(f1_chart(head, metrics["heads"][head], out_dir / f"f1_{head}.png"))
            written.append(
                confusion_chart(head, metrics["heads"][head], out_dir / f"confusion_{head}.png")
            )
    calibration = metrics.get("calibration")
    if calibration:
        for head in HEADS:
            path = out_dir / f"reliability_{head}.png"
            written.append(reliability_chart(head, calibration, path))
        if calibration.get("curve") or calibration.get("validation_curve"):
            written.append(recall_chart(calibration, out_dir / "recall_false_alarms.png"))
    return written
