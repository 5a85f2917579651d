"""Alert rules and the Grafana dashboard (deploy/) use only metrics that really exist, have
the structure Prometheus and Grafana load, and are wired into both compose files.

promtool is not available here, so the rule files are checked structurally and their PromQL
is parsed roughly: enough to pull out every metric name, which is then looked up in the
/metrics output of a real gateway and a real Triton."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
# compose file -> the Prometheus config it mounts
COMPOSE_FILES = {
    "docker-compose.yml": ROOT / "deploy" / "prometheus" / "prometheus.single.yml",
    "docker-compose.scale.yml": ROOT / "deploy" / "prometheus" / "prometheus.yml",
}
# Series Prometheus makes itself for every scrape target (never on a /metrics page).
SYNTHETIC = {"up"}
SEVERITIES = {"page", "ticket"}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")

# PromQL words that are not metric names (functions are recognised by their "(").
_KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan"}
_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
_IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names (matchers, by/on lists), label values, durations or Grafana variables."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(_GROUPING, "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)
    names = set()
    for match in _IDENTIFIER.finditer(expr):
        if expr[match.end() :].lstrip().startswith("(") or match.group(0) in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def _rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load(ALERTS.read_text())["groups"]


def _alert_expressions() -> dict[str, str]:
    return {
        rule.get("alert") or rule["record"]: rule["expr"]
        for group in _rule_groups()
        for rule in group["rules"]
    }


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels += [panel, *panel.get("panels", [])]
    return panels


def _dashboard_expressions() -> dict[str, str]:
    found = {}
    for name, dashboard in _dashboards().items():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                found[f"{name}: {panel['title']} {target['refId']}"] = target["expr"]
    return found


# --- the rough PromQL parser ----------------------------------------------------------------


def test_metric_names_skips_functions_labels_durations_and_variables() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, stage) (rate(a_bucket{code=~"5..", x="y"}'
        "[$__rate_interval]))) / 1e-3 > 2 and on () sum(increase(b_total[1h] offset 1w)) "
        'or absent(up{job="triton"}) unless rate(c:rec[5m]) bool sum(d) without (instance)'
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up", "c:rec", "d"}


# --- rule file and dashboard structure ------------------------------------------------------


def test_alert_rules_have_the_prometheus_rule_group_structure() -> None:
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    groups = document["groups"]
    assert groups and len({g["name"] for g in groups}) == len(groups), "group names unique"
    alerts = []
    for group in groups:
        assert set(group) <= {"name", "interval", "limit", "rules"}, group["name"]
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule), rule
            assert isinstance(rule["expr"], str) and metric_names(rule["expr"]), rule
            assert rule["expr"].count("(") == rule["expr"].count(")"), rule
            if "record" in rule:
                assert set(rule) <= {"record", "expr", "labels"}, rule
                continue
            alerts.append(rule["alert"])
            assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            assert DURATION.match(str(rule.get("for", "0s"))), rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            # Templates must close: a broken one makes Prometheus reject the whole file.
            for text in rule["annotations"].values():
                assert text.count("{{") == text.count("}}"), rule["alert"]
    assert len(set(alerts)) == len(alerts), "alert names unique"


def test_alert_rules_cover_what_an_operator_must_be_told() -> None:
    expressions = _alert_expressions()
    everything = " ".join(expressions.values())
    # error rate; 429/503; p99 latency; Triton queue time; replica down; escalation level
    assert re.search(r'status=~"5\.\."', everything)
    assert re.search(r'status=~"429\|503"', everything)
    assert re.search(
        r"histogram_quantile\(0\.99,\s*sum by \(le\) \(rate\(triage_request_seconds_bucket",
        everything,
    )
    assert "nv_inference_queue_duration_us" in everything
    assert re.search(r'up\{job="triton"\} == 0', everything)
    escalations = [e for e in expressions.values() if "triage_escalations_total" in e]
    # compared with the usual level: the same hour a day and a week ago, both directions
    assert len(escalations) >= 2
    for expr in escalations:
        assert "offset 1d" in expr and "offset 1w" in expr


def test_alerts_and_dashboard_name_only_scraped_jobs() -> None:
    everything = " ".join([*_alert_expressions().values(), *_dashboard_expressions().values()])
    used = set(re.findall(r'job=~?"([^"]+)"', everything))
    assert used, "up{job=...} is how a dead replica shows"
    for compose, config_path in COMPOSE_FILES.items():
        config = yaml.safe_load(config_path.read_text())
        jobs = {job["job_name"] for job in config["scrape_configs"]}
        assert used <= jobs, f"{compose}: jobs {used - jobs} are not scraped"


def test_dashboard_is_grafana_json_on_the_provisioned_datasource() -> None:
    (datasource,) = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert datasource["type"] == "prometheus"
    dashboards = _dashboards()
    assert dashboards, "no dashboard JSON in deploy/grafana/dashboards"
    for name, dashboard in dashboards.items():
        assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
        panels = _panels(dashboard)
        ids = [p["id"] for p in panels]
        assert len(set(ids)) == len(ids), f"{name}: panel ids unique"
        for panel in panels:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == datasource["uid"], (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == datasource["uid"]
                assert metric_names(target["expr"]), (name, panel["title"])
    text = " ".join(_dashboard_expressions().values())
    # request rate, latency per stage, chunks, escalations, review rate, Triton per version
    for metric in (
        "triage_requests_total",
        "triage_stage_seconds_bucket",
        "triage_chunks_per_narrative",
        "triage_escalations_total",
        "triage_needs_review_total",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
    ):
        assert metric in text, metric
    assert "by (model, version)" in text


# --- compose wiring --------------------------------------------------------------------------


def _host_path(volume: str) -> tuple[Path, str]:
    host, container = volume.split(":")[:2]
    return (ROOT / host).resolve(), container


@pytest.mark.parametrize("compose_file", sorted(COMPOSE_FILES))
def test_compose_runs_prometheus_with_the_rules_and_grafana_provisioned(
    compose_file: str,
) -> None:
    services = yaml.safe_load((ROOT / compose_file).read_text())["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]

    mounts = dict(_host_path(v) for v in prometheus["volumes"] if v.startswith("./"))
    config_path = COMPOSE_FILES[compose_file].resolve()
    assert mounts[config_path] == "/etc/prometheus/prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == [mounts[ALERTS.resolve()]]

    mounts = dict(_host_path(v) for v in grafana["volumes"] if v.startswith("./"))
    assert mounts[PROVISIONING.resolve()] == "/etc/grafana/provisioning"
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "helpline-triage.yml").read_text())[
        "providers"
    ]
    assert mounts[DASHBOARDS.resolve()] == provider["options"]["path"]
    (datasource,) = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert datasource["url"] == "http://prometheus:9090"
    assert set(grafana["networks"]) & set(prometheus["networks"])

    # A secret from the environment (compose refuses to start without it), never a literal.
    password = grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", password), password
    for name in ("prometheus", "grafana"):
        ports = services[name]["ports"]
        assert ports and all(str(p).startswith("127.0.0.1:") for p in ports), (name, ports)
        assert services[name]["healthcheck"]["test"], name


def test_single_stack_prometheus_scrapes_its_gateway_and_triton() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    config = yaml.safe_load(COMPOSE_FILES["docker-compose.yml"].read_text())
    targets = {
        job["job_name"]: {t for static in job["static_configs"] for t in static["targets"]}
        for job in config["scrape_configs"]
    }
    assert targets == {"gateway": {"gateway:8123"}, "triton": {"triton:8002"}}
    assert {"gateway", "triton"} <= set(services)
    assert services["gateway"]["environment"]["TRIAGE_PORT"] == "8123"


# --- every name is exported -----------------------------------------------------------------


def _scrape(url: str) -> str:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return response.text


def _exported(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = _IDENTIFIER.match(line)
            assert match, line
            names.add(match.group(0))
    return names


@pytest.mark.integration
def test_every_metric_in_the_rules_and_dashboard_is_exported(gateway, triton) -> None:
    url = f"{gateway.url}/classifier"
    narrative = "The girl said her uncle hurt her at home and she is afraid to go back."
    # Labelled series appear only once used: a classification, an error, a streaming session.
    assert httpx.post(f"{url}/classify", json={"narrative": narrative}, timeout=60).is_success
    assert httpx.post(f"{url}/classify", json={"narrative": 5}, timeout=60).status_code == 422
    session = httpx.post(f"{gateway.url}/classifier/sessions", timeout=60).json()["session_id"]
    segment = httpx.post(
        f"{gateway.url}/classifier/sessions/{session}/segments", json={"text": narrative}
    )
    assert segment.is_success
    closed = httpx.post(f"{gateway.url}/classifier/sessions/{session}/close", timeout=60)
    assert closed.is_success

    gateway_metrics = _scrape(f"{gateway.url}/metrics")
    triton_metrics = f"http://{triton.options.host}:{triton.options.metrics_port}/metrics"
    exported = _exported(gateway_metrics) | _exported(_scrape(triton_metrics))
    recorded = {rule["record"] for g in _rule_groups() for rule in g["rules"] if "record" in rule}
    known = exported | SYNTHETIC | recorded

    used = {
        **{f"alert {name}": expr for name, expr in _alert_expressions().items()},
        **{f"dashboard {name}": expr for name, expr in _dashboard_expressions().items()},
    }
    missing = {
        where: sorted(metric_names(expr) - known)
        for where, expr in used.items()
        if metric_names(expr) - known
    }
    assert not missing, f"metrics no gateway or Triton exports: {missing}"

    # An endpoint filter that matches no route would make its alert or panel silently empty.
    endpoints = set(re.findall(r'endpoint="([^"]+)"', gateway_metrics))
    assert "/classifier/classify" in endpoints
    for where, expr in used.items():
        for operator, value in re.findall(r'endpoint(=~?)"([^"]+)"', expr):
            if operator == "=":
                assert value in endpoints, (where, value)
            else:
                assert any(re.fullmatch(value, e) for e in endpoints), (where, value)
