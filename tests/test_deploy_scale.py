"""The scale-out deployment (docker-compose.scale.yml, deploy/) parses, passes its schemas
and keeps its promises. None of it can run here (no Docker engine, no GPU, no cluster):
these checks are what CI can do offline."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_deploy_files import assert_requires_api_keys, compose_binary, compose_config

from client.core.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.scale.yml"
NGINX = ROOT / "deploy" / "nginx" / "nginx.conf"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30"  # oldest Kubernetes the manifests must be valid for
NAMESPACE = "helpline-triage"


# --- docker-compose.scale.yml ------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    # PyYAML resolves the `<<: *anchor` merges, so each service is complete here.
    return yaml.safe_load(COMPOSE.read_text())["services"]


@pytest.fixture(scope="module")
def tritons(services) -> dict[str, dict[str, Any]]:
    found = {n: s for n, s in services.items() if "tritonserver" in s.get("image", "")}
    assert len(found) >= 2, "the scale-out file runs at least two Triton replicas"
    return found


@pytest.fixture(scope="module")
def gateways(services) -> dict[str, dict[str, Any]]:
    found = {
        n: s
        for n, s in services.items()
        if s.get("build", {}).get("dockerfile") == "Dockerfile.gateway"
    }
    assert len(found) >= 2, "the scale-out file runs at least two gateways"
    return found


def test_scale_compose_file_is_valid_for_docker_compose(tmp_path: Path) -> None:
    binary = compose_binary()
    result = compose_config(binary, COMPOSE, tmp_path / "env", TRIAGE_API_KEYS="k")
    assert result.returncode == 0, result.stderr
    refused = compose_config(binary, COMPOSE, tmp_path / "env")
    assert refused.returncode != 0 and "set TRIAGE_API_KEYS" in refused.stderr, refused.stderr


def test_scale_gateways_require_keys_and_lb_is_on_loopback(services, gateways) -> None:
    for gateway in gateways.values():
        assert_requires_api_keys(gateway["environment"])
    assert services["lb"]["ports"] == ["${GATEWAY_PUBLISH_ADDRESS:-127.0.0.1}:8123:8080"]


def test_each_triton_replica_has_its_own_gpu_and_cache(tritons) -> None:
    gpus, caches = [], []
    for name, triton in tritons.items():
        (device,) = triton["deploy"]["resources"]["reservations"]["devices"]
        assert device["capabilities"] == ["gpu"], name
        assert len(device["device_ids"]) == 1, f"{name} reserves exactly one GPU"
        gpus += device["device_ids"]
        assert "./model_repository:/models:ro" in triton["volumes"], name
        caches += [v.split(":")[0] for v in triton["volumes"] if v.endswith(":/trt_cache")]
        assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"]), name
    assert len(set(gpus)) == len(tritons), f"GPU ids overlap: {gpus}"
    assert len(set(caches)) == len(tritons), f"TensorRT caches shared: {caches}"


def test_triton_flags_match_the_single_gpu_stack(tritons) -> None:
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["triton"]
    for name, triton in tritons.items():
        assert triton["image"] == base["image"], name
        assert triton["command"] == base["command"], name


def test_triton_is_internal_only(services, tritons) -> None:
    internal = yaml.safe_load(COMPOSE.read_text())["networks"]["internal"]
    assert internal["internal"] is True
    for name, triton in tritons.items():
        assert "ports" not in triton, f"{name} must not be published on a host port"
        assert triton["networks"] == ["internal"], name


def test_only_the_load_balancer_is_published(services, gateways) -> None:
    # Monitoring UIs are published on loopback only (tests/test_monitoring.py checks them).
    published = {
        name
        for name, service in services.items()
        if any(not str(port).startswith("127.0.0.1:") for port in service.get("ports", []))
    }
    assert published == {"lb"}
    assert "nginx" in services["lb"]["image"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in services["lb"]["volumes"]
    for name, gateway in gateways.items():
        assert gateway["networks"] == ["internal"], f"{name} is reached through the LB only"


def test_every_service_has_a_health_check(services) -> None:
    missing = [name for name, service in services.items() if not service.get("healthcheck")]
    assert not missing, f"no healthcheck: {missing}"


def test_every_gateway_lists_every_triton_replica(gateways, tritons) -> None:
    wanted = {f"{name}:8001" for name in tritons}
    for name, gateway in gateways.items():
        urls = gateway["environment"]["TRIAGE_TRITON_URLS"].split(",")
        assert set(urls) == wanted, name
        assert gateway["environment"]["TRIAGE_PROTOCOL"] == "grpc", name
        assert "./model_repository:/models:ro" in gateway["volumes"], name


def _prometheus_targets() -> dict[str, set[str]]:
    config = yaml.safe_load(PROMETHEUS.read_text())
    return {
        job["job_name"]: {t for static in job["static_configs"] for t in static["targets"]}
        for job in config["scrape_configs"]
    }


def test_prometheus_scrapes_every_gateway_and_triton(services, gateways, tritons) -> None:
    targets = _prometheus_targets()
    assert targets["gateway"] == {f"{name}:8123" for name in gateways}
    assert targets["triton"] == {f"{name}:8002" for name in tritons}
    mount = "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
    assert mount in services["prometheus"]["volumes"]


def _nginx() -> str:
    # Drop comments so that commented-out directives never satisfy a check.
    return re.sub(r"#[^\n]*", "", NGINX.read_text())


def _directive(conf: str, name: str) -> str:
    """The one server-level value of a directive (locations may override it)."""
    conf = re.sub(r"location\s[^{]*\{[^{}]*\}", "", conf)
    values = re.findall(rf"^\s*{name}\s+([^;]+);", conf, re.M)
    assert len(values) == 1, f"{name}: expected once, found {values}"
    return values[0].strip()


def test_nginx_balances_over_every_gateway_with_passive_health(gateways) -> None:
    upstream = re.search(r"upstream\s+gateways\s*\{(.*?)\}", _nginx(), re.S)
    assert upstream, "no `upstream gateways` block"
    servers = dict(re.findall(r"^\s*server\s+(\S+)\s+([^;]*);", upstream.group(1), re.M))
    assert set(servers) == {f"{name}:8123" for name in gateways}
    for server, params in servers.items():
        assert re.search(r"\bmax_fails=\d+", params), server
        assert re.search(r"\bfail_timeout=\d+s", params), server
    # A draining gateway answers 503: try the next one rather than return it.
    assert "http_503" in _directive(_nginx(), "proxy_next_upstream")


def test_nginx_timeouts_and_body_limit_match_the_gateways(gateways) -> None:
    conf = _nginx()
    for name, gateway in gateways.items():
        env = gateway["environment"]
        timeout = float(env["TRIAGE_REQUEST_TIMEOUT_S"])
        for directive in ("proxy_read_timeout", "proxy_send_timeout"):
            seconds = float(_directive(conf, directive).removesuffix("s"))
            # Longer than the gateway's deadline (its own JSON 504 gets through), but not
            # by much (a hung gateway is given up on).
            assert timeout < seconds <= timeout + 10, (name, directive)
        assert _directive(conf, "client_max_body_size") == env["TRIAGE_MAX_BODY_BYTES"], name


def test_nginx_passes_websocket_upgrades_for_live_calls() -> None:
    block = re.search(r"location\s*=\s*/classifier/stream\s*\{(.*?)\}", _nginx(), re.S)
    assert block, "no WebSocket location for /classifier/stream"
    body = block.group(1)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", body)
    assert re.search(r'proxy_set_header\s+Connection\s+"upgrade";', body)
    # The server-level headers are replaced inside a location that sets its own.
    assert re.search(r"proxy_set_header\s+X-Request-ID\s+\$req_id;", body)
    # A quiet call is kept open at least as long as the gateway keeps its session.
    idle_s = GatewaySettings().stream_idle_timeout_s
    read = re.search(r"proxy_read_timeout\s+(\d+)s;", body)
    assert read and float(read.group(1)) >= idle_s


def test_nginx_routes_http_sessions_to_the_gateway_that_holds_them(gateways) -> None:
    route = re.search(
        r"location\s+~\s+\^/classifier/sessions/\(\?<session_gateway>([^)]*)\)\\\.\s*\{(.*?)\}",
        _nginx(),
        re.S,
    )
    assert route, "no session-id route"
    assert set(route.group(1).split("|")) == set(gateways)
    assert re.search(r"proxy_pass\s+http://\$session_gateway:8123;", route.group(2))
    for name, gateway in gateways.items():
        # The prefix of its session ids is its own service name, which nginx resolves.
        assert gateway["environment"]["TRIAGE_INSTANCE_ID"] == name


def test_nginx_keeps_metrics_internal() -> None:
    assert re.search(r"location\s*=\s*/metrics\s*\{\s*[^}]*return\s+404", _nginx())


# --- deploy/k8s ---------------------------------------------------------------------------


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    # The kustomization's resources, the Secret example and the ad-hoc ops/ pods.
    docs = []
    for path in sorted([*K8S.glob("*.yaml"), *(K8S / "ops").glob("*.yaml")]):
        if path.name == "kustomization.yaml":
            continue
        name = str(path.relative_to(K8S))
        docs += [(name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


MANIFESTS = _manifests()


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for _, d in MANIFESTS if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _selects(selector: dict[str, Any], workload: dict[str, Any]) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    wanted = selector.get("matchLabels", selector)
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


TRITON = _one("StatefulSet", "triton")
GATEWAY = _one("Deployment", "helpline-gateway")


@pytest.mark.parametrize(
    ("filename", "doc"),
    MANIFESTS,
    ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in MANIFESTS],
)
def test_manifest_passes_the_kubernetes_schema(filename: str, doc: dict[str, Any]) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must schema-check deploy/k8s: install kubernetes-validate (dev)")
        pytest.skip("kubernetes-validate not installed")
    # strict: unknown fields fail too (a misspelt key would otherwise be ignored by the API).
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    if doc["kind"] != "Namespace":
        assert doc["metadata"]["namespace"] == NAMESPACE, filename


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    examples = {name for name in files if name.endswith(".example.yaml")}
    assert examples == {"gateway-api-keys.example.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files - examples)


def test_triton_gets_a_gpu_probes_and_read_only_models() -> None:
    container = _container(TRITON)
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    startup = container["startupProbe"]
    # Room for TensorRT engine builds of every bucket profile on a cold cache.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == 8000, probe
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"].get("readOnly") is True
    volumes = {v["name"]: v for v in TRITON["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[mounts["/models"]["name"]]["persistentVolumeClaim"]
    assert claim["claimName"] == "model-repository" and claim["readOnly"] is True
    cache = mounts["/trt_cache"]["name"]
    templates = {t["metadata"]["name"] for t in TRITON["spec"].get("volumeClaimTemplates", [])}
    assert cache in templates or "emptyDir" in volumes.get(cache, {})


def test_triton_flags_match_compose() -> None:
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["triton"]
    container = _container(TRITON)
    assert container["image"] == base["image"]
    assert container["args"] == base["command"]


def test_triton_services_are_internal_and_the_headless_one_names_replicas() -> None:
    for _, doc in MANIFESTS:
        if doc["kind"] == "Service":
            assert doc["spec"].get("type", "ClusterIP") == "ClusterIP", doc["metadata"]["name"]
    headless = _one("Service", TRITON["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert _selects(headless["spec"]["selector"], TRITON)
    cluster_ip = _one("Service", "triton")
    assert _selects(cluster_ip["spec"]["selector"], TRITON)
    assert {p["port"] for p in cluster_ip["spec"]["ports"]} == {8000, 8001, 8002}


def test_gateway_lists_every_triton_replica_by_its_stable_name() -> None:
    config = _one("ConfigMap", "helpline-gateway")["data"]
    service = TRITON["spec"]["serviceName"]
    wanted = [
        f"triton-{i}.{service}.{NAMESPACE}.svc.cluster.local:8001"
        for i in range(TRITON["spec"]["replicas"])
    ]
    assert config["TRIAGE_TRITON_URLS"].split(",") == wanted
    assert config["TRIAGE_PROTOCOL"] == "grpc"


def test_gateway_probes_drain_and_grace_period() -> None:
    container = _container(GATEWAY)
    spec = GATEWAY["spec"]["template"]["spec"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    sleep_s = float(pre_stop[1])
    assert 1 <= sleep_s <= 15
    config = _one("ConfigMap", "helpline-gateway")["data"]
    drain_s = float(config["TRIAGE_DRAIN_DELAY_S"])
    timeout_s = float(config["TRIAGE_REQUEST_TIMEOUT_S"])
    # preStop, the drain delay and the longest request all fit before SIGKILL.
    assert spec["terminationGracePeriodSeconds"] > sleep_s + drain_s + timeout_s
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"].get("readOnly") is True


def test_gateway_config_from_configmap_and_keys_from_secret() -> None:
    container = _container(GATEWAY)
    assert {"configMapRef": {"name": "helpline-gateway"}} in container["envFrom"]
    (keys,) = [e for e in container["env"] if e["name"] == "TRIAGE_API_KEYS"]
    ref = keys["valueFrom"]["secretKeyRef"]
    assert ref.get("optional") is False, "a missing Secret must stop pods, not disable auth"
    secret = _one("Secret", ref["name"])
    placeholder = secret["stringData"][ref["key"]]
    assert "FAKE" in placeholder and "not-a-real-key" in placeholder
    config = _one("ConfigMap", "helpline-gateway")["data"]
    assert "TRIAGE_API_KEYS" not in config, "keys belong in the Secret"


def test_gateway_service_and_hpa_target_the_deployment() -> None:
    service = _one("Service", "helpline-gateway")
    assert _selects(service["spec"]["selector"], GATEWAY)
    hpa = _one("HorizontalPodAutoscaler", "helpline-gateway")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", GATEWAY["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    # Utilisation is relative to the request: without one the HPA cannot compute it.
    assert _container(GATEWAY)["resources"]["requests"]["cpu"]


def test_disruption_budgets_select_their_workloads() -> None:
    for name, workload in (("helpline-gateway", GATEWAY), ("triton", TRITON)):
        pdb = _one("PodDisruptionBudget", name)
        assert pdb["spec"]["minAvailable"] == 1
        assert _selects(pdb["spec"]["selector"], workload), name
        assert not _selects(pdb["spec"]["selector"], GATEWAY if workload is TRITON else TRITON)


def test_network_policy_lets_only_gateways_reach_triton_inference() -> None:
    (policy,) = [d for _, d in MANIFESTS if d["kind"] == "NetworkPolicy"]
    assert _selects(policy["spec"]["podSelector"], TRITON)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    gateway_ports: set[int] = set()
    for rule in policy["spec"]["ingress"]:
        ports = {p["port"] for p in rule["ports"]}
        for peer in rule["from"]:
            if _selects(peer.get("podSelector", {}), GATEWAY):
                assert "namespaceSelector" not in peer, "gateways of this namespace only"
                gateway_ports |= ports
            else:
                # Any other peer (Prometheus) reaches the metrics port only.
                assert ports == {8002}, peer
    assert 8001 in gateway_ports, "gateways reach Triton's gRPC port"
