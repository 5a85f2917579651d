"""The CPU production deployment (docker-compose.cpu.yml, deploy/k8s-cpu/,
configs/cpu.pbtxt) parses and keeps its promises: Triton's onnxruntime backend on KIND_CPU
with the committed CPU config, no GPU asked for anywhere, the gateway's security defaults
unchanged. Nothing here can run (no Docker engine, no cluster): offline checks only."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import text_format
from test_deploy_files import assert_requires_api_keys, compose_binary, compose_config
from tritonclient.grpc import model_config_pb2

from client.core.buckets import DEFAULT_BUCKETS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.cpu.yml"
GPU_COMPOSE = ROOT / "docker-compose.yml"
MODEL = ROOT / "model_repository" / "helpline_classifier"
CPU_CONFIG_NAME = "cpu"
CPU_CONFIG = MODEL / "configs" / f"{CPU_CONFIG_NAME}.pbtxt"
OVERLAY = ROOT / "deploy" / "k8s-cpu"
BASE = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30"  # as tests/test_deploy_scale.py
CONFIG_FLAG = f"--model-config-name={CPU_CONFIG_NAME}"


def _asks_for_a_gpu(tree: Any) -> list[str]:
    """Every place in a parsed YAML tree that reserves, requests, tolerates or accelerates
    with a GPU (comments are not in the tree)."""
    text = json.dumps(tree).lower()
    markers = ("nvidia.com/gpu", '"gpu"', "kind_gpu", "tensorrt", "trt_cache", "devices")
    return [m for m in markers if m in text]


def _model_config(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


# --- docker-compose.cpu.yml ----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_cpu_compose_file_is_valid_and_refuses_to_start_without_keys(tmp_path: Path) -> None:
    binary = compose_binary()
    result = compose_config(binary, COMPOSE, tmp_path / "env", TRIAGE_API_KEYS="k")
    assert result.returncode == 0, result.stderr
    for env in ({}, {"TRIAGE_API_KEYS": ""}):
        refused = compose_config(binary, COMPOSE, tmp_path / "env", **env)
        assert refused.returncode != 0 and "set TRIAGE_API_KEYS" in refused.stderr, env


def test_cpu_compose_reserves_no_gpu(compose) -> None:
    assert _asks_for_a_gpu(compose) == []
    assert "deploy" not in compose["services"]["triton"]
    # The check above can fail: the GPU file trips it.
    assert _asks_for_a_gpu(yaml.safe_load(GPU_COMPOSE.read_text()))


def test_cpu_triton_selects_the_cpu_config_with_the_gpu_stacks_flags(compose) -> None:
    gpu = yaml.safe_load(GPU_COMPOSE.read_text())["services"]["triton"]
    triton = compose["services"]["triton"]
    assert triton["image"] == gpu["image"], "NVIDIA's container, as on GPU"
    assert triton["command"] == [*gpu["command"], CONFIG_FLAG]
    assert CPU_CONFIG.is_file()
    assert "./model_repository:/models:ro" in triton["volumes"]
    assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"])
    assert "ports" not in triton, "Triton must not be published beyond the internal network"
    assert compose["networks"]["internal"]["internal"] is True


def test_cpu_gateway_is_the_production_gateway(compose) -> None:
    """Same service as docker-compose.yml: keys required, loopback by default, behind
    Triton's health."""
    gateway = compose["services"]["gateway"]
    assert gateway == yaml.safe_load(GPU_COMPOSE.read_text())["services"]["gateway"]
    assert_requires_api_keys(gateway["environment"])
    assert gateway["ports"] == ["${GATEWAY_PUBLISH_ADDRESS:-127.0.0.1}:8123:8123"]
    assert gateway["depends_on"]["triton"]["condition"] == "service_healthy"
    assert gateway["environment"]["TRIAGE_TRITON_URLS"] == "triton:8001"


def test_cpu_monitoring_is_loopback_only(compose) -> None:
    for name in ("prometheus", "grafana"):
        for port in compose["services"][name]["ports"]:
            assert port.startswith("127.0.0.1:"), (name, port)


# --- configs/cpu.pbtxt ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cpu_config() -> model_config_pb2.ModelConfig:
    return _model_config(CPU_CONFIG)


def test_cpu_config_is_the_onnxruntime_backend_on_cpu_only(cpu_config) -> None:
    assert cpu_config.backend == "onnxruntime"
    assert cpu_config.instance_group
    for group in cpu_config.instance_group:
        assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
        assert not group.gpus
    accelerators = cpu_config.optimization.execution_accelerators
    assert not accelerators.gpu_execution_accelerator, "no TensorRT on CPU"
    parameters = {k: v.string_value for k, v in cpu_config.parameters.items()}
    assert int(parameters["intra_op_thread_count"]) >= 1
    assert parameters["inter_op_thread_count"] == "1"


def test_cpu_config_serves_the_same_model_as_the_other_configs(cpu_config) -> None:
    for other in (MODEL / "config.pbtxt", MODEL / "configs" / "local.pbtxt"):
        config = _model_config(other)
        assert cpu_config.name == config.name
        assert list(cpu_config.input) == list(config.input), other
        assert list(cpu_config.output) == list(config.output), other
        assert cpu_config.version_policy == config.version_policy, other


def test_cpu_config_puts_interactive_ahead_of_bulk(cpu_config) -> None:
    batching = cpu_config.dynamic_batching
    assert batching.priority_levels == 2
    assert batching.default_priority_level == 2
    bulk = batching.priority_queue_policy[2]
    assert bulk.max_queue_size >= batching.default_queue_policy.max_queue_size
    assert all(size <= cpu_config.max_batch_size for size in batching.preferred_batch_size)


def test_cpu_config_warms_every_gateway_bucket(cpu_config) -> None:
    lengths = set()
    for warmup in cpu_config.model_warmup:
        assert 1 <= warmup.batch_size <= cpu_config.max_batch_size
        dims = {tuple(i.dims) for i in warmup.inputs.values()}
        assert set(warmup.inputs) == {"input_ids", "attention_mask"}
        (shape,) = dims
        lengths.add(shape[0])
    assert lengths == set(DEFAULT_BUCKETS)


# --- deploy/k8s-cpu ------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _apply_json_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 add / remove / replace / test, as kustomize applies them (no kubectl in
    CI): enough for the overlay's patch, and strict, so a patch that misses fails."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = _pointer(op["path"])
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if op["op"] == "add":
                node.insert(index, op["value"])
            elif op["op"] == "remove":
                del node[index]
            elif op["op"] == "replace":
                node[index] = op["value"]
            else:
                assert node[index] == op["value"], op
        elif op["op"] in ("add", "replace"):
            assert op["op"] == "add" or last in node, op
            node[last] = op["value"]
        elif op["op"] == "remove":
            del node[last]
        else:
            assert node[last] == op["value"], op
    return doc


def _base_triton() -> dict[str, Any]:
    (found,) = [
        d
        for d in yaml.safe_load_all((BASE / "triton-statefulset.yaml").read_text())
        if d and d["kind"] == "StatefulSet"
    ]
    return found


@pytest.fixture(scope="module")
def cpu_triton() -> dict[str, Any]:
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../k8s"]
    (patch,) = kustomization["patches"]
    assert patch["target"] == {
        "group": "apps",
        "version": "v1",
        "kind": "StatefulSet",
        "name": "triton",
    }
    ops = yaml.safe_load((OVERLAY / patch["path"]).read_text())
    return _apply_json_patch(_base_triton(), ops)


def test_cpu_statefulset_passes_the_kubernetes_schema(cpu_triton) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(cpu_triton, K8S_VERSION, strict=True)


def test_cpu_statefulset_asks_for_no_gpu_and_selects_the_cpu_config(cpu_triton) -> None:
    assert _asks_for_a_gpu(cpu_triton) == []
    assert _asks_for_a_gpu(_base_triton()), "the check can fail: the GPU base trips it"
    (container,) = cpu_triton["spec"]["template"]["spec"]["containers"]
    (base_container,) = _base_triton()["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [*base_container["args"], CONFIG_FLAG]
    assert container["image"] == base_container["image"]
    assert "tolerations" not in cpu_triton["spec"]["template"]["spec"]
    assert "nodeSelector" not in cpu_triton["spec"]["template"]["spec"]


def test_cpu_statefulset_requests_the_cores_its_config_uses(cpu_triton) -> None:
    config = _model_config(CPU_CONFIG)
    threads = int(config.parameters["intra_op_thread_count"].string_value)
    instances = sum(group.count for group in config.instance_group)
    (container,) = cpu_triton["spec"]["template"]["spec"]["containers"]
    assert int(container["resources"]["requests"]["cpu"]) == instances * threads
    assert "cpu" not in container["resources"].get("limits", {}), "no CFS throttling"


def test_cpu_statefulset_keeps_read_only_models_probes_and_mounted_volumes(cpu_triton) -> None:
    spec = cpu_triton["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True
    volumes = {v["name"] for v in spec["volumes"]}
    templates = {t["metadata"]["name"] for t in cpu_triton["spec"].get("volumeClaimTemplates", [])}
    for mount in mounts.values():
        assert mount["name"] in volumes | templates, mount
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/live"


def test_kustomize_renders_the_same_statefulset(cpu_triton) -> None:
    """Where kubectl is installed, kustomize's own rendering is what the tests above check."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed (the Python patch above is what CI checks)")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (found,) = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "StatefulSet"]
    assert found == cpu_triton
