"""The GPU export (`--precision fp16`) is a graph TensorRT can build whole, and the production
config's TensorRT shape profile fits that graph and the gateway's buckets.

TensorRT itself cannot run here (no GPU): these check what decides whether it can take the
graph (op domains) and whether the engine accepts every shape the gateway sends (profiles)."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from client.core.buckets import DEFAULT_BUCKETS
from export.onnx_export import OPSET, export_onnx
from export.repository import DEFAULT_MODEL_NAME, DEFAULT_REPOSITORY
from helpline_model.checkpoint import load_checkpoint
from helpline_model.layout import INPUT_NAMES

PRODUCTION_CONFIG = DEFAULT_REPOSITORY / DEFAULT_MODEL_NAME / "config.pbtxt"
PROFILE_KEYS = ("min", "opt", "max")
Shape = tuple[int, ...]


@pytest.fixture(scope="module")
def gpu_graph(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> onnx.ModelProto:
    path, _ = export_onnx(load_checkpoint(tiny_checkpoint), "fp16", tmp_path_factory.mktemp("gpu"))
    return onnx.load(str(path))


@pytest.fixture(scope="module")
def production_config() -> model_config_pb2.ModelConfig:
    return text_format.Parse(PRODUCTION_CONFIG.read_text(), model_config_pb2.ModelConfig())


def test_fp16_export_holds_standard_onnx_ops_only(gpu_graph: onnx.ModelProto) -> None:
    """A com.microsoft node (fused Attention, SkipLayerNormalization...) stops TensorRT's parser:
    the engine would cover only fragments of the graph."""
    domains = {node.domain for node in gpu_graph.graph.node}
    assert domains <= {"", "ai.onnx"}, sorted(
        f"{n.domain}:{n.op_type}" for n in gpu_graph.graph.node if n.domain not in ("", "ai.onnx")
    )
    assert {(o.domain, o.version) for o in gpu_graph.opset_import} == {("", OPSET)}
    assert not gpu_graph.functions
    # Opset 17's LayerNormalization: TensorRT's normalization layer, not a Pow/ReduceMean chain.
    assert "LayerNormalization" in {node.op_type for node in gpu_graph.graph.node}


def test_fp16_export_keeps_fp32_weights_and_triton_tensor_types(
    gpu_graph: onnx.ModelProto,
) -> None:
    """TensorRT makes the engine fp16 (precision_mode FP16); the file stays fp32, and the
    tensors Triton sees are the ones config.pbtxt declares (int64 in, fp32 out)."""
    float_types = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}
    weights = {t.data_type for t in gpu_graph.graph.initializer if t.data_type in float_types}
    assert weights == {onnx.TensorProto.FLOAT}
    assert [t.name for t in gpu_graph.graph.input] == list(INPUT_NAMES)
    assert {t.type.tensor_type.elem_type for t in gpu_graph.graph.input} == {onnx.TensorProto.INT64}
    assert {t.type.tensor_type.elem_type for t in gpu_graph.graph.output} == {
        onnx.TensorProto.FLOAT
    }


def tensorrt_parameters(config: model_config_pb2.ModelConfig) -> dict[str, str]:
    accelerators = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert [a.name for a in accelerators] == ["tensorrt"]
    return dict(accelerators[0].parameters)


def parse_profiles(parameters: dict[str, str]) -> list[dict[str, dict[str, Shape]]]:
    """ONNX Runtime's format, `name:AxB,name:AxB,...`: the k-th entry of an input name belongs
    to profile k. Returns, per profile, input name -> {"min"|"opt"|"max": shape}."""
    profiles: list[dict[str, dict[str, Shape]]] = []
    for key in PROFILE_KEYS:
        seen: dict[str, int] = {}
        for entry in parameters[f"trt_profile_{key}_shapes"].split(","):
            name, dims = entry.split(":")
            index = seen.get(name, 0)
            seen[name] = index + 1
            while len(profiles) <= index:
                profiles.append({})
            profiles[index].setdefault(name, {})[key] = tuple(int(d) for d in dims.split("x"))
    return profiles


def covers(shapes: dict[str, Shape], shape: Shape) -> bool:
    low, high = shapes["min"], shapes["max"]
    return len(shape) == len(low) == len(high) and all(
        lo <= d <= hi for lo, d, hi in zip(low, shape, high, strict=True)
    )


def test_production_profile_fits_the_graph_and_every_gateway_shape(
    gpu_graph: onnx.ModelProto, production_config: model_config_pb2.ModelConfig
) -> None:
    parameters = tensorrt_parameters(production_config)
    assert parameters["precision_mode"] == "FP16"
    profiles = parse_profiles(parameters)
    # ONNX Runtime's TensorRT provider runs on profile 0 only (config.pbtxt says why): every
    # shape the gateway sends must lie in that one profile.
    assert len(profiles) == 1
    profile = profiles[0]

    graph_inputs = [t.name for t in gpu_graph.graph.input]
    assert sorted(profile) == sorted(graph_inputs)
    assert [i.name for i in production_config.input] == graph_inputs
    max_batch = production_config.max_batch_size
    for name in graph_inputs:
        shapes = profile[name]
        assert set(shapes) == set(PROFILE_KEYS), name
        rank = len(gpu_graph.graph.input[graph_inputs.index(name)].type.tensor_type.shape.dim)
        assert {len(s) for s in shapes.values()} == {rank}
        assert covers(shapes, shapes["opt"]), name
        # The gateway pads a narrative's chunks to a bucket; Triton's batcher merges up to
        # max_batch_size of them.
        for bucket in DEFAULT_BUCKETS:
            for batch in (1, max_batch):
                assert covers(shapes, (batch, bucket)), (name, batch, bucket)
        # No wider than what is sent: TensorRT tunes kernels for the range it is given.
        assert shapes["min"] == (1, min(DEFAULT_BUCKETS))
        assert shapes["max"] == (max_batch, max(DEFAULT_BUCKETS))


def test_production_warmup_runs_every_bucket_on_the_graph_inputs(
    gpu_graph: onnx.ModelProto, production_config: model_config_pb2.ModelConfig
) -> None:
    graph_inputs = {t.name for t in gpu_graph.graph.input}
    lengths = []
    for warmup in production_config.model_warmup:
        assert set(warmup.inputs) == graph_inputs, warmup.name
        assert 1 <= warmup.batch_size <= production_config.max_batch_size
        (dims,) = {tuple(value.dims) for value in warmup.inputs.values()}
        lengths.append(dims[-1])
    assert tuple(lengths) == DEFAULT_BUCKETS
