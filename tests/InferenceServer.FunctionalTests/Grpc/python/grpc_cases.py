#!/usr/bin/python3
"""KServe v2 gRPC cases run against a live server with Debian's python3-grpcio.

Each case belongs to a suite; a suite expects the server and repository its xunit fixture starts
(GrpcClient*Tests.cs in the folder above). Run:

  /usr/bin/python3 grpc_cases.py --descriptors inference.desc --target 127.0.0.1:PORT \
      --metrics http://127.0.0.1:PORT/metrics --suite main --results results.json [--case NAME ...]
  /usr/bin/python3 grpc_cases.py --list [--suite main]

The results file holds one entry per case: its name, whether it passed, the failure text, and seconds.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
from google.protobuf import descriptor_pb2

from inference_client import DATATYPES, HEALTH, INFERENCE, REFLECTION, Client, Messages, from_raw, set_typed, to_raw

SUITES = {}


def case(*suites):
    """Registers the decorated function as a case of each of ``suites``, under its own name."""

    def register(fn):
        for suite in suites:
            SUITES.setdefault(suite, []).append((fn.__name__, fn))
        return fn

    return register


def register_case(suite, name, fn):
    SUITES.setdefault(suite, []).append((name, fn))


class Context:
    """What a case gets: the message classes, a client on a shared channel, the server's addresses."""

    def __init__(self, messages, target, metrics_url):
        self.messages = messages
        self.target = target
        self.metrics_url = metrics_url
        self.client = Client(target, messages)

    def new_client(self, **kwargs):
        return Client(self.target, self.messages, **kwargs)

    def m(self, type_name, /, **fields):
        """A message of the inference package (or of any package, given a full name)."""
        return self.messages(type_name if "." in type_name else "inference." + type_name, **fields)

    def metric(self, name, **labels):
        """The value of one sample on /metrics, or None when it is absent."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            text = response.read().decode()
        for line in text.splitlines():
            match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
            if not match or match.group(1) != name:
                continue
            found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(match.group(3))
        return None

    def stats(self, model):
        response = self.client.call("ModelStatistics", self.m("ModelStatisticsRequest", name=model, version="1"))
        assert len(response.model_stats) == 1, f"statistics of {model} version 1: {response}"
        return response.model_stats[0]


# ---------------------------------------------------------------------------------------------- helpers


def expect_status(code, fn, *args, **kwargs):
    """Calls fn and answers the grpc.RpcError it must raise with ``code``."""
    try:
        result = fn(*args, **kwargs)
    except grpc.RpcError as e:
        assert e.code() == code, f"expected {code.name}, got {e.code().name}: {e.details()}"
        return e
    raise AssertionError(f"expected {code.name}, but the call succeeded: {str(result)[:300]}")


def tensor(name, datatype, values, shape=None):
    """An input description: (name, datatype, values, shape); the shape defaults to [1, n]."""
    if shape is None:
        shape = [1, len(values)]
    return (name, datatype, values, list(shape))


def infer_request(ctx, model, inputs, raw=True, outputs=(), request_id="", version="", parameters=None):
    request = ctx.m("ModelInferRequest", model_name=model, model_version=version, id=request_id)
    for name, datatype, values, shape in inputs:
        entry = request.inputs.add(name=name, datatype=datatype, shape=shape)
        if raw:
            request.raw_input_contents.append(to_raw(datatype, values))
        else:
            set_typed(entry.contents, datatype, values)
    for name in outputs:
        request.outputs.add(name=name)
    for key, value in (parameters or {}).items():
        request.parameters[key].CopyFrom(value)
    return request


def simple_request(ctx, a, b, request_id="", model="simple", **kwargs):
    """INPUT0 = a and INPUT1 = b, 16 INT32 each (a and b: numbers or 16 values)."""
    a = np.broadcast_to(np.asarray(a, dtype=np.int32), (16,))
    b = np.broadcast_to(np.asarray(b, dtype=np.int32), (16,))
    return infer_request(ctx, model, [tensor("INPUT0", "INT32", a), tensor("INPUT1", "INT32", b)], request_id=request_id, **kwargs)


def outputs_by_name(response):
    """{name: (datatype, shape, raw bytes)} of a ModelInferResponse; every output must come raw."""
    assert len(response.raw_output_contents) == len(response.outputs), (
        f"{len(response.outputs)} outputs but {len(response.raw_output_contents)} raw_output_contents"
    )
    return {
        o.name: (o.datatype, list(o.shape), bytes(response.raw_output_contents[i]))
        for i, o in enumerate(response.outputs)
    }


def check_simple(response, a, b):
    outputs = outputs_by_name(response)
    assert set(outputs) == {"OUTPUT0", "OUTPUT1"}, f"outputs: {sorted(outputs)}"
    for name, expected in (("OUTPUT0", np.int32(a) + np.int32(b)), ("OUTPUT1", np.int32(a) - np.int32(b))):
        datatype, shape, data = outputs[name]
        assert datatype == "INT32" and shape == [1, 16], f"{name}: {datatype} {shape}"
        actual = from_raw("INT32", data, shape)
        assert np.array_equal(actual, np.broadcast_to(expected, (1, 16))), f"{name}: {actual} != {expected}"


def parameter(ctx, **choice):
    return ctx.m("InferParameter", **choice)


# Edge values of every datatype; floats include signed zero, infinities, NaN and subnormals, so a
# round trip must keep every bit. BF16 values are bit patterns (1.5, -3, 256, +inf, -0, NaN, smallest subnormal).
VALUES = {
    "BOOL": np.array([True, False, True, True]),
    "UINT8": np.array([0, 255, 7, 128], dtype=np.uint8),
    "UINT16": np.array([0, 65535, 7, 32768], dtype=np.uint16),
    "UINT32": np.array([0, 2**32 - 1, 7, 2**31], dtype=np.uint32),
    "UINT64": np.array([0, 2**64 - 1, 7, 2**63], dtype=np.uint64),
    "INT8": np.array([-128, 127, 0, -1], dtype=np.int8),
    "INT16": np.array([-32768, 32767, 0, -1], dtype=np.int16),
    "INT32": np.array([-(2**31), 2**31 - 1, 0, -1], dtype=np.int32),
    "INT64": np.array([-(2**63), 2**63 - 1, 0, -1], dtype=np.int64),
    "FP16": np.array([0.5, -2, 65504, -0.0, np.inf, np.nan, 6e-08, -1e-4], dtype=np.float16),
    "BF16": np.array([0x3FC0, 0xC040, 0x4380, 0x7F80, 0x8000, 0x7FC0, 0x0001, 0xFF80], dtype=np.uint16),
    "FP32": np.array([1.5, -0.25, 3.4e38, -0.0, np.inf, np.nan, 1e-45, -np.inf], dtype=np.float32),
    "FP64": np.array([1e-300, -2.5, 1.7976931348623157e308, -0.0, np.inf, np.nan, 5e-324, -np.inf], dtype=np.float64),
    # ONNX string tensors hold UTF-8 text, so bytes that are not (b"\xff") are refused before the model runs
    # (GrpcClientErrorTests); NUL and control bytes are valid UTF-8 and pass through.
    "BYTES": [b"", "ü".encode(), b"a b", b"\x00\x7f\x00 binary", b"x" * 300],
}

# The fixture's ONNX spelling of each v2 datatype (identity_all.onnx: IN_<name> -> OUT_<name>).
ONNX_NAMES = {
    "BOOL": "BOOL", "UINT8": "UINT8", "UINT16": "UINT16", "UINT32": "UINT32", "UINT64": "UINT64",
    "INT8": "INT8", "INT16": "INT16", "INT32": "INT32", "INT64": "INT64", "FP16": "FLOAT16",
    "BF16": "BFLOAT16", "FP32": "FLOAT", "FP64": "DOUBLE", "BYTES": "STRING",
}
TYPED = [t for t in DATATYPES if DATATYPES[t][1] is not None]


def identity_inputs(datatypes, rows=1):
    """Every input of an identity model: each type's edge values, ``rows`` copies deep (the batch)."""
    inputs = []
    for datatype in datatypes:
        values = VALUES[datatype]
        if datatype == "BYTES":
            batch = list(values) * rows
        else:
            batch = np.tile(values, rows)
        inputs.append(tensor("IN_" + ONNX_NAMES[datatype], datatype, batch, [rows, len(values)]))
    return inputs


def check_identity_output(response, datatype, rows=1):
    outputs = outputs_by_name(response)
    name = "OUT_" + ONNX_NAMES[datatype]
    assert name in outputs, f"no {name} among {sorted(outputs)}"
    actual_type, shape, data = outputs[name]
    values = VALUES[datatype]
    assert actual_type == datatype, f"{name}: datatype {actual_type}"
    assert shape == [rows, len(values)], f"{name}: shape {shape}"
    if datatype == "BYTES":
        actual = from_raw("BYTES", data, shape)
        assert actual == list(values) * rows, f"{name}: {actual!r}"
        return
    expected = np.tile(np.asarray(values, dtype=DATATYPES[datatype][0]), rows).reshape(shape)
    actual = from_raw(datatype, data, shape)
    # Bit for bit: NaN payloads and signed zeros included.
    assert data == expected.tobytes(), f"{name}: {actual} != {expected} (bytes {data.hex()} != {expected.tobytes().hex()})"
    assert np.array_equal(actual, expected, equal_nan=actual.dtype.kind == "f"), f"{name}: {actual} != {expected}"


# ---------------------------------------------------------------------------------------------- health and metadata


@case("main")
def server_live(ctx):
    assert ctx.client.call("ServerLive", ctx.m("ServerLiveRequest")).live is True


@case("main")
def server_ready(ctx):
    assert ctx.client.call("ServerReady", ctx.m("ServerReadyRequest")).ready is True


@case("main")
def model_ready(ctx):
    ready = lambda name, version="": ctx.client.call("ModelReady", ctx.m("ModelReadyRequest", name=name, version=version)).ready
    assert ready("simple") is True
    assert ready("simple", "1") is True
    # Unknown models, unknown versions and models that failed to load are "not ready", not errors.
    assert ready("simple", "7") is False
    assert ready("nope") is False
    assert ready("corrupt") is False


@case("main")
def server_metadata(ctx):
    response = ctx.client.call("ServerMetadata", ctx.m("ServerMetadataRequest"))
    assert response.name, response
    assert response.version, response
    assert "statistics" in response.extensions, list(response.extensions)


@case("main")
def model_metadata(ctx):
    response = ctx.client.call("ModelMetadata", ctx.m("ModelMetadataRequest", name="simple"))
    assert response.name == "simple" and list(response.versions) == ["1"], response
    assert response.platform == "onnxruntime_onnx", response.platform
    inputs = [(t.name, t.datatype, list(t.shape)) for t in response.inputs]
    outputs = [(t.name, t.datatype, list(t.shape)) for t in response.outputs]
    assert inputs == [("INPUT0", "INT32", [-1, 16]), ("INPUT1", "INT32", [-1, 16])], inputs
    assert outputs == [("OUTPUT0", "INT32", [-1, 16]), ("OUTPUT1", "INT32", [-1, 16])], outputs
    versioned = ctx.client.call("ModelMetadata", ctx.m("ModelMetadataRequest", name="simple", version="1"))
    assert versioned == response, versioned


@case("main")
def model_metadata_every_datatype(ctx):
    # An auto-completed config: names and datatypes come from the ONNX model itself.
    response = ctx.client.call("ModelMetadata", ctx.m("ModelMetadataRequest", name="identity"))
    inputs = {t.name: t.datatype for t in response.inputs}
    assert inputs == {"IN_" + ONNX_NAMES[t]: t for t in DATATYPES}, inputs
    assert all(list(t.shape)[1:] == [-1] for t in response.inputs), [list(t.shape) for t in response.inputs]


@case("main")
def model_metadata_unknown_model_is_not_found(ctx):
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelMetadata", ctx.m("ModelMetadataRequest", name="nope"))


@case("main")
def model_metadata_unknown_version_is_not_found(ctx):
    e = expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelMetadata", ctx.m("ModelMetadataRequest", name="simple", version="7"))
    assert "7" in e.details(), e.details()


@case("main")
def model_metadata_of_a_model_that_failed_to_load_is_unavailable(ctx):
    expect_status(grpc.StatusCode.UNAVAILABLE, ctx.client.call, "ModelMetadata", ctx.m("ModelMetadataRequest", name="corrupt"))


@case("main")
def model_config(ctx):
    response = ctx.client.call("ModelConfig", ctx.m("ModelConfigRequest", name="simple"))
    config = response.config
    assert config.name == "simple", response
    # The message as Triton's client decodes it: its own field numbers and enums, Triton's defaults filled in.
    assert config.max_batch_size == 8, response
    assert [i.name for i in config.input] == ["INPUT0", "INPUT1"], response
    assert list(config.input[0].dims) == [16], response
    assert config.input[0].data_type == 8, response  # TYPE_INT32
    assert config.version_policy.WhichOneof("policy_choice") == "latest", response
    assert config.version_policy.latest.num_versions == 1, response
    group = config.instance_group[0]
    assert (group.name, group.count, group.kind) == ("simple_0", 1, 2), response  # KIND_CPU


@case("main")
def model_config_unknown_model_is_not_found(ctx):
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelConfig", ctx.m("ModelConfigRequest", name="nope"))


@case("main")
def model_statistics_count_inferences(ctx):
    before = ctx.stats("add_sub")
    for i in range(3):
        ctx.client.call("ModelInfer", infer_request(ctx, "add_sub", [tensor("INPUT0", "INT32", np.full(16, i, np.int32)), tensor("INPUT1", "INT32", np.ones(16, np.int32))]))
    after = ctx.stats("add_sub")
    assert after.name == "add_sub" and after.version == "1", after
    assert after.inference_count - before.inference_count == 3, (before.inference_count, after.inference_count)
    assert after.execution_count - before.execution_count == 3, (before.execution_count, after.execution_count)
    assert after.inference_stats.success.count - before.inference_stats.success.count == 3, after.inference_stats
    assert after.inference_stats.compute_infer.ns > 0, after.inference_stats
    assert after.last_inference > 0, after


@case("main")
def model_statistics_of_all_models(ctx):
    response = ctx.client.call("ModelStatistics", ctx.m("ModelStatisticsRequest"))
    names = {s.name for s in response.model_stats}
    assert {"simple", "identity", "add_sub"} <= names, names
    assert "corrupt" not in names, names


@case("main")
def model_statistics_unknown_model_is_not_found(ctx):
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelStatistics", ctx.m("ModelStatisticsRequest", name="nope"))


@case("main")
def repository_index(ctx):
    response = ctx.client.call("RepositoryIndex", ctx.m("RepositoryIndexRequest"))
    rows = {m.name: m for m in response.models}
    assert rows["simple"].state == "READY" and rows["simple"].version == "1", rows["simple"]
    assert rows["corrupt"].state == "UNAVAILABLE" and rows["corrupt"].reason, rows["corrupt"]
    ready = ctx.client.call("RepositoryIndex", ctx.m("RepositoryIndexRequest", ready=True))
    ready_names = {m.name for m in ready.models}
    assert "simple" in ready_names and "corrupt" not in ready_names, ready_names
    assert all(m.state == "READY" for m in ready.models), ready


@case("main")
def health_check_server_is_serving(ctx):
    health = lambda service: ctx.client.call("Check", ctx.messages("grpc.health.v1.HealthCheckRequest", service=service), service=HEALTH)
    serving = ctx.messages.type("grpc.health.v1.HealthCheckResponse").SERVING
    assert health("").status == serving, health("")
    assert health(INFERENCE).status == serving, health(INFERENCE)


@case("main")
def health_check_unknown_service_is_not_found(ctx):
    request = ctx.messages("grpc.health.v1.HealthCheckRequest", service="no.such.Service")
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "Check", request, service=HEALTH)


@case("main")
def unknown_method_is_unimplemented(ctx):
    expect_status(grpc.StatusCode.UNIMPLEMENTED, ctx.client.raw_unary, f"/{INFERENCE}/NoSuchMethod", b"")
    expect_status(grpc.StatusCode.UNIMPLEMENTED, ctx.client.raw_unary, "/no.such.Service/ServerLive", b"")
    # The server is still there for everyone else.
    assert ctx.client.call("ServerLive", ctx.m("ServerLiveRequest")).live


def reflect(ctx, **request):
    """One request on a server reflection stream; answers the ServerReflectionResponse."""
    message = ctx.messages("grpc.reflection.v1.ServerReflectionRequest", **request)
    answers = list(ctx.client.stream_method(REFLECTION, "ServerReflectionInfo", [message], timeout=30))
    assert len(answers) == 1, answers
    assert answers[0].WhichOneof("message_response") != "error_response", answers[0].error_response
    return answers[0]


@case("main")
def reflection_lists_the_services(ctx):
    names = {s.name for s in reflect(ctx, list_services="").list_services_response.service}
    assert {INFERENCE, HEALTH, REFLECTION} <= names, names


@case("main")
def reflection_describes_the_service_so_a_client_needs_no_proto_file(ctx):
    # The descriptors come from the server alone; a client built from them calls the service.
    answer = reflect(ctx, file_containing_symbol=INFERENCE)
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in answer.file_descriptor_response.file_descriptor_proto]
    ordered, known = [], set()
    while len(ordered) < len(files):
        ready = [f for f in files if f.name not in known and all(d in known for d in f.dependency)]
        assert ready, f"the reflected files do not include every import: {[(f.name, list(f.dependency)) for f in files]}"
        for f in ready:
            ordered.append(f)
            known.add(f.name)
    service = next(s for f in ordered for s in f.service if f"{f.package}.{s.name}" == INFERENCE)
    methods = {m.name: m for m in service.method}
    assert set(methods) == {"ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer", "ModelStreamInfer",
                            "ModelConfig", "ModelStatistics", "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload"}, sorted(methods)
    stream = methods["ModelStreamInfer"]
    assert stream.client_streaming and stream.server_streaming and stream.input_type == ".inference.ModelInferRequest", stream
    path = os.path.join(tempfile.mkdtemp(prefix="reflected-"), "reflected.desc")
    with open(path, "wb") as f:
        f.write(descriptor_pb2.FileDescriptorSet(file=ordered).SerializeToString())
    client = Client(ctx.target, Messages(path))
    try:
        metadata = client.call("ModelMetadata", client.messages("inference.ModelMetadataRequest", name="simple"))
        assert metadata.name == "simple" and [i.name for i in metadata.inputs] == ["INPUT0", "INPUT1"], metadata
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------- inference


@case("main")
def infer_simple_raw(ctx):
    a, b = np.arange(16, dtype=np.int32), np.full(16, 3, np.int32)
    response = ctx.client.call("ModelInfer", simple_request(ctx, a, b, request_id="abc"))
    assert response.id == "abc" and response.model_name == "simple" and response.model_version == "1", response
    check_simple(response, a, b)


@case("main")
def infer_simple_typed(ctx):
    a, b = np.arange(16, dtype=np.int32) - 8, np.full(16, 1000, np.int32)
    response = ctx.client.call("ModelInfer", simple_request(ctx, a, b, raw=False))
    check_simple(response, a, b)


@case("main")
def infer_explicit_version(ctx):
    response = ctx.client.call("ModelInfer", simple_request(ctx, 1, 2, version="1"))
    assert response.model_version == "1", response.model_version
    check_simple(response, 1, 2)


@case("main")
def infer_requested_output_only(ctx):
    response = ctx.client.call("ModelInfer", simple_request(ctx, 5, 2, outputs=["OUTPUT1"]))
    assert [o.name for o in response.outputs] == ["OUTPUT1"], response.outputs
    assert np.array_equal(from_raw("INT32", response.raw_output_contents[0], [1, 16]), np.full((1, 16), 3)), response


@case("main")
def infer_batch_of_rows(ctx):
    a = np.arange(64, dtype=np.int32).reshape(4, 16)
    b = np.full((4, 16), 2, np.int32)
    request = infer_request(ctx, "simple", [tensor("INPUT0", "INT32", a, [4, 16]), tensor("INPUT1", "INT32", b, [4, 16])])
    outputs = outputs_by_name(ctx.client.call("ModelInfer", request))
    assert outputs["OUTPUT0"][1] == [4, 16], outputs["OUTPUT0"][1]
    assert np.array_equal(from_raw("INT32", outputs["OUTPUT0"][2], [4, 16]), a + b)
    assert np.array_equal(from_raw("INT32", outputs["OUTPUT1"][2], [4, 16]), a - b)


@case("main")
def infer_raw_every_datatype_in_one_request(ctx):
    response = ctx.client.call("ModelInfer", infer_request(ctx, "identity", identity_inputs(DATATYPES, rows=2)))
    assert len(response.outputs) == len(DATATYPES), [o.name for o in response.outputs]
    for datatype in DATATYPES:
        check_identity_output(response, datatype, rows=2)


def _raw_case(datatype):
    def run(ctx):
        request = infer_request(ctx, "identity", identity_inputs(DATATYPES), outputs=["OUT_" + ONNX_NAMES[datatype]])
        response = ctx.client.call("ModelInfer", request)
        assert len(response.outputs) == 1, [o.name for o in response.outputs]
        check_identity_output(response, datatype)

    return run


def _typed_case(datatype):
    def run(ctx):
        request = infer_request(ctx, "identity_typed", identity_inputs(TYPED), raw=False, outputs=["OUT_" + ONNX_NAMES[datatype]])
        check_identity_output(ctx.client.call("ModelInfer", request), datatype)

    return run


for _datatype in DATATYPES:
    register_case("main", f"infer_raw_{_datatype.lower()}", _raw_case(_datatype))
for _datatype in TYPED:
    register_case("main", f"infer_typed_{_datatype.lower()}", _typed_case(_datatype))


@case("main")
def infer_typed_every_datatype_in_one_request(ctx):
    response = ctx.client.call("ModelInfer", infer_request(ctx, "identity_typed", identity_inputs(TYPED, rows=3), raw=False))
    assert len(response.outputs) == len(TYPED), [o.name for o in response.outputs]
    for datatype in TYPED:
        check_identity_output(response, datatype, rows=3)


def _typed_half_is_invalid(datatype, field):
    def run(ctx):
        # No list of InferTensorContents is meant for 16-bit floats; whatever list the values come in, they are refused.
        request = infer_request(ctx, "identity", identity_inputs(TYPED), raw=False)
        for half in sorted(("FP16", "BF16"), key=lambda t: t != datatype):
            entry = request.inputs.add(name="IN_" + ONNX_NAMES[half], datatype=half, shape=[1, len(VALUES[half])])
            getattr(entry.contents, field if half == datatype else "fp32_contents").extend([1] * len(VALUES[half]))
        e = expect_status(grpc.StatusCode.INVALID_ARGUMENT, ctx.client.call, "ModelInfer", request)
        assert datatype in e.details() and "raw" in e.details(), e.details()

    return run


register_case("main", "infer_typed_fp16_is_invalid_argument", _typed_half_is_invalid("FP16", "fp32_contents"))
register_case("main", "infer_typed_bf16_is_invalid_argument", _typed_half_is_invalid("BF16", "uint_contents"))


@case("main")
def infer_large_raw_request(ctx):
    # 8 MiB each way: twice the default limit of gRPC clients, well under the server's.
    values = np.arange(2 * 1024 * 1024, dtype=np.float32)
    inputs = [t if t[0] != "IN_FLOAT" else tensor("IN_FLOAT", "FP32", values) for t in identity_inputs(DATATYPES)]
    response = ctx.client.call("ModelInfer", infer_request(ctx, "identity", inputs, outputs=["OUT_FLOAT"]))
    assert np.array_equal(from_raw("FP32", response.raw_output_contents[0], [1, values.size]), values.reshape(1, -1))


@case("main")
def infer_concurrent_calls_on_one_channel(ctx):
    futures = [(i, ctx.client.future("ModelInfer", simple_request(ctx, i, -i, request_id=str(i)), timeout=30)) for i in range(32)]
    for i, future in futures:
        response = future.result()
        assert response.id == str(i), (i, response.id)
        check_simple(response, i, -i)


def _request_compression(ctx, compression):
    client = ctx.new_client(compression=compression)
    try:
        # Compressible on purpose: the message shrinks on the wire and must inflate back exactly.
        values = np.repeat(np.arange(1024, dtype=np.int64), 256)
        inputs = [t if t[0] != "IN_INT64" else tensor("IN_INT64", "INT64", values) for t in identity_inputs(DATATYPES)]
        response = client.call("ModelInfer", infer_request(ctx, "identity", inputs, outputs=["OUT_INT64"]))
        assert np.array_equal(from_raw("INT64", response.raw_output_contents[0], [1, values.size]), values.reshape(1, -1))
        # Per call too, and on a stream.
        check_simple(client.call("ModelInfer", simple_request(ctx, 2, 3), compression=compression), 2, 3)
        answers = list(client.stream(simple_request(ctx, i, 1, request_id=str(i)) for i in range(4)))
        assert sorted(a.infer_response.id for a in answers) == ["0", "1", "2", "3"], answers
    finally:
        client.close()


@case("main")
def request_gzip_compression(ctx):
    _request_compression(ctx, grpc.Compression.Gzip)


@case("main")
def request_deflate_compression(ctx):
    # Triton's gRPC runtime takes deflate (zlib framing) as well as gzip.
    _request_compression(ctx, grpc.Compression.Deflate)


@case("main")
def priority_and_timeout_parameters_are_accepted(ctx):
    for choice in ({"priority": parameter(ctx, uint64_param=1), "timeout": parameter(ctx, int64_param=10_000_000)},
                   {"priority": parameter(ctx, int64_param=2)},
                   {"timeout": parameter(ctx, uint64_param=5_000_000)},
                   {"binary_data_output": parameter(ctx, bool_param=True)}):
        response = ctx.client.call("ModelInfer", simple_request(ctx, 4, 1, model="batched", parameters=choice))
        check_simple(response, 4, 1)


@case("main")
def priority_and_timeout_out_of_range_are_invalid_argument(ctx):
    for key, value, words in (("priority", parameter(ctx, uint64_param=5), ("priority", "5")),
                              ("priority", parameter(ctx, uint64_param=2**40), ("priority",)),
                              ("timeout", parameter(ctx, int64_param=-5), ("timeout",))):
        _invalid(ctx, simple_request(ctx, 1, 1, model="batched", parameters={key: value}), *words)


@case("main")
def priority_of_the_wrong_type_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1, model="batched", parameters={"priority": parameter(ctx, string_param="high")})
    e = expect_status(grpc.StatusCode.INVALID_ARGUMENT, ctx.client.call, "ModelInfer", request)
    assert "priority" in e.details(), e.details()


# ---------------------------------------------------------------------------------------------- inference errors


@case("main")
def infer_unknown_model_is_not_found(ctx):
    e = expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelInfer", simple_request(ctx, 1, 1, model="nope"))
    assert "nope" in e.details(), e.details()


@case("main")
def infer_unknown_version_is_not_found(ctx):
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelInfer", simple_request(ctx, 1, 1, version="7"))


@case("main")
def infer_model_that_failed_to_load_is_unavailable(ctx):
    request = infer_request(ctx, "corrupt", [tensor("X", "FP32", np.ones(4, np.float32))])
    expect_status(grpc.StatusCode.UNAVAILABLE, ctx.client.call, "ModelInfer", request)


def _invalid(ctx, request, *words):
    e = expect_status(grpc.StatusCode.INVALID_ARGUMENT, ctx.client.call, "ModelInfer", request)
    for word in words:
        assert word in e.details(), f"'{word}' not in: {e.details()}"
    return e


@case("main")
def infer_wrong_shape_raw_is_invalid_argument(ctx):
    values = np.ones(15, np.int32)
    _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "INT32", values), tensor("INPUT1", "INT32", values)]), "INPUT0", "shape")


@case("main")
def infer_wrong_shape_typed_is_invalid_argument(ctx):
    values = np.ones(15, np.int32)
    _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "INT32", values), tensor("INPUT1", "INT32", values)], raw=False), "INPUT0", "shape")


@case("main")
def infer_wrong_datatype_raw_is_invalid_argument(ctx):
    values = np.ones(16, np.float32)
    _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "FP32", values), tensor("INPUT1", "FP32", values)]), "INPUT0", "FP32", "INT32")


@case("main")
def infer_wrong_datatype_typed_is_invalid_argument(ctx):
    values = np.ones(16, np.float32)
    _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "FP32", values), tensor("INPUT1", "FP32", values)], raw=False), "INPUT0", "FP32", "INT32")


@case("main")
def infer_typed_values_in_the_wrong_list_are_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1, raw=False)
    request.inputs[0].contents.Clear()
    request.inputs[0].contents.int64_contents.extend([1] * 16)
    _invalid(ctx, request, "INPUT0", "int_contents")


@case("main")
def infer_unknown_datatype_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1)
    request.inputs[0].datatype = "INT33"
    _invalid(ctx, request, "INT33")


@case("main")
def infer_raw_size_that_does_not_match_the_shape_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1)
    request.raw_input_contents[1] = request.raw_input_contents[1][:-4]
    _invalid(ctx, request, "INPUT1")


@case("main")
def infer_typed_count_that_does_not_match_the_shape_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1, raw=False)
    request.inputs[1].contents.int_contents.append(1)
    _invalid(ctx, request, "INPUT1", "17")


@case("main")
def infer_typed_value_out_of_range_is_invalid_argument(ctx):
    inputs = identity_inputs(TYPED)
    request = infer_request(ctx, "identity_typed", inputs, raw=False)
    int8 = next(i for i in request.inputs if i.datatype == "INT8")
    int8.contents.int_contents[0] = 300
    _invalid(ctx, request, "IN_INT8")


@case("main")
def infer_raw_and_typed_together_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1)
    request.inputs[0].contents.int_contents.extend([1] * 16)
    _invalid(ctx, request, "INPUT0", "raw")


@case("main")
def infer_raw_contents_for_only_some_inputs_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1)
    del request.raw_input_contents[1]
    _invalid(ctx, request, "raw_input_contents")


@case("main")
def infer_missing_input_is_invalid_argument(ctx):
    request = infer_request(ctx, "simple", [tensor("INPUT0", "INT32", np.ones(16, np.int32))])
    _invalid(ctx, request, "INPUT1")


@case("main")
def infer_input_without_data_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1, raw=False)
    request.inputs[1].ClearField("contents")
    _invalid(ctx, request, "INPUT1")


@case("main")
def infer_malformed_bytes_element_is_invalid_argument(ctx):
    request = infer_request(ctx, "identity", identity_inputs(DATATYPES))
    index = next(i for i, t in enumerate(request.inputs) if t.datatype == "BYTES")
    # A length prefix that promises more bytes than follow.
    request.raw_input_contents[index] = b"\x10\x00\x00\x00abc"
    request.inputs[index].shape[:] = [1, 1]
    _invalid(ctx, request, "IN_STRING")


@case("main")
def infer_duplicate_input_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1)
    request.inputs.add(name="INPUT0", datatype="INT32", shape=[1, 16])
    request.raw_input_contents.append(to_raw("INT32", np.ones(16)))
    _invalid(ctx, request, "INPUT0", "more than once")


@case("main")
def infer_unknown_requested_output_is_invalid_argument(ctx):
    _invalid(ctx, simple_request(ctx, 1, 1, outputs=["NOPE"]), "NOPE")


@case("main")
def infer_classification_output_is_invalid_argument(ctx):
    request = simple_request(ctx, 1, 1)
    request.outputs.add(name="OUTPUT0").parameters["classification"].int64_param = 2
    _invalid(ctx, request, "classification")


@case("main")
def infer_batch_over_max_batch_size_is_invalid_argument(ctx):
    rows = np.ones((9, 16), np.int32)
    _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "INT32", rows, [9, 16]), tensor("INPUT1", "INT32", rows, [9, 16])]), "batch size 9")


@case("main")
def infer_negative_dimension_is_invalid_argument(ctx):
    ones = np.ones(16, np.int32)
    for raw in (True, False):
        _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "INT32", ones, [-1, 16]), tensor("INPUT1", "INT32", ones)], raw=raw), "INPUT0", "negative")


@case("main")
def infer_shape_whose_element_count_overflows_is_invalid_argument(ctx):
    ones = np.ones(16, np.int32)
    for raw in (True, False):
        for shape in ([2**40, 2**40], [2**62, 2**62, 2**62]):
            _invalid(ctx, infer_request(ctx, "simple", [tensor("INPUT0", "INT32", ones, shape), tensor("INPUT1", "INT32", ones)], raw=raw), "INPUT0")


@case("main")
def infer_zero_element_tensors_round_trip(ctx):
    def empty(inputs):
        return [(name, datatype, [] if datatype == "BYTES" else values[:0], [1, 0]) for name, datatype, values, _ in inputs]

    raw = ctx.client.call("ModelInfer", infer_request(ctx, "identity", empty(identity_inputs(DATATYPES))))
    typed_request = infer_request(ctx, "identity_typed", empty(identity_inputs(TYPED)), raw=False)
    for entry in typed_request.inputs:
        entry.contents.SetInParent()
    typed = ctx.client.call("ModelInfer", typed_request)
    for response, count in ((raw, len(DATATYPES)), (typed, len(TYPED))):
        outputs = outputs_by_name(response)
        assert len(outputs) == count, sorted(outputs)
        assert all(shape == [1, 0] and data == b"" for _, shape, data in outputs.values()), outputs


@case("main")
def infer_unknown_fields_are_ignored(ctx):
    # Fields a newer protocol revision might add (numbers 111 and 112 here) must not break an older server.
    payload = simple_request(ctx, 3, 1, request_id="extra").SerializeToString() + b"\xf8\x06\x01" + b"\x82\x07\x03abc"
    response = ctx.m("ModelInferResponse").FromString(ctx.client.raw_unary(f"/{INFERENCE}/ModelInfer", payload))
    assert response.id == "extra", response.id
    check_simple(response, 3, 1)


@case("main")
def infer_without_model_name_is_invalid_argument(ctx):
    _invalid(ctx, simple_request(ctx, 1, 1, model=""), "model")


@case("main")
def malformed_protobuf_is_invalid_argument(ctx):
    garbage = [
        b"\x0a\xff\xff\xff\xff\x0f",  # model_name whose length runs far past the end
        b"\x0a\x06simple\x2a\x05\x0a\x03IN",  # an input that ends in the middle of its name
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint tag that never ends
        b"\x0a\x06simple\x3b",  # a field with wire type 3 (a group), which proto3 has none of
    ]
    for payload in garbage:
        e = expect_status(grpc.StatusCode.INVALID_ARGUMENT, ctx.client.raw_unary, f"/{INFERENCE}/ModelInfer", payload)
        assert e.details(), payload
    for method in ("ModelMetadata", "ModelReady", "ModelConfig", "ServerLive"):
        expect_status(grpc.StatusCode.INVALID_ARGUMENT, ctx.client.raw_unary, f"/{INFERENCE}/{method}", garbage[0])
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, ctx.client.raw_unary, f"/{HEALTH}/Check", garbage[0])
    # Well-formed bytes through the same raw path still work: the server kept serving.
    reply = ctx.client.raw_unary(f"/{INFERENCE}/ServerLive", b"")
    assert ctx.m("ServerLiveResponse").FromString(reply).live


# ---------------------------------------------------------------------------------------------- streaming


@case("main")
def stream_many_requests_matched_by_id(ctx):
    count = 64
    requests = [simple_request(ctx, np.arange(16) + i, i, request_id=f"req-{i}") for i in range(count)]
    answers = {}
    for answer in ctx.client.stream(requests):
        assert not answer.error_message, answer.error_message
        response = answer.infer_response
        assert response.id not in answers, f"two answers for {response.id}"
        answers[response.id] = response
    assert sorted(answers) == sorted(f"req-{i}" for i in range(count)), sorted(answers)
    for i in range(count):
        check_simple(answers[f"req-{i}"], np.arange(16) + i, i)


@case("main")
def stream_mixes_models_and_contents(ctx):
    requests = []
    for i in range(12):
        if i % 3 == 0:
            requests.append(infer_request(ctx, "identity", identity_inputs(DATATYPES), outputs=["OUT_STRING"], request_id=f"id-{i}"))
        else:
            requests.append(simple_request(ctx, i, 2, request_id=f"simple-{i}", raw=i % 2 == 0))
    answers = {a.infer_response.id: a for a in ctx.client.stream(requests)}
    assert len(answers) == 12, sorted(answers)
    for request_id, answer in answers.items():
        assert not answer.error_message, (request_id, answer.error_message)
        if request_id.startswith("id-"):
            assert answer.infer_response.model_name == "identity", answer.infer_response.model_name
            check_identity_output(answer.infer_response, "BYTES")
        else:
            check_simple(answer.infer_response, int(request_id.split("-")[1]), 2)


@case("main")
def stream_failing_requests_answer_with_their_id_and_the_stream_goes_on(ctx):
    requests = [simple_request(ctx, i, 1, request_id=f"ok-{i}") for i in range(5)]
    requests.append(simple_request(ctx, 1, 1, model="nope", request_id="unknown-model"))
    wrong = infer_request(ctx, "simple", [tensor("INPUT0", "INT32", np.ones(3, np.int32)), tensor("INPUT1", "INT32", np.ones(3, np.int32))], request_id="wrong-shape")
    requests.append(wrong)
    half = simple_request(ctx, 1, 1, raw=False, request_id="typed-fp16")
    half.inputs[0].datatype = "FP16"
    requests.append(half)
    overflow = simple_request(ctx, 1, 1, raw=False, request_id="overflow")
    overflow.inputs[0].shape[:] = [2**40, 2**40]
    requests.append(overflow)
    requests.extend(simple_request(ctx, i, 1, request_id=f"ok-{i}") for i in range(5, 10))
    answers = {}
    for answer in ctx.client.stream(requests):
        answers[answer.infer_response.id] = answer
    assert len(answers) == 14, sorted(answers)
    for bad, word in (("unknown-model", "nope"), ("wrong-shape", "shape"), ("typed-fp16", "FP16"), ("overflow", "overflows")):
        assert word in answers[bad].error_message, (bad, answers[bad].error_message)
        assert not answers[bad].infer_response.outputs, answers[bad]
    assert answers["unknown-model"].infer_response.model_name == "nope", answers["unknown-model"]
    for i in range(10):
        answer = answers[f"ok-{i}"]
        assert not answer.error_message, answer.error_message
        check_simple(answer.infer_response, i, 1)


@case("main")
def stream_malformed_message_answers_an_error_and_the_stream_goes_on(ctx):
    good = [simple_request(ctx, i, 1, request_id=f"ok-{i}").SerializeToString() for i in range(4)]
    payloads = good[:2] + [b"\x0a\xff\xff\xff\xff\x0f"] + good[2:]
    response_type = ctx.m("ModelStreamInferResponse").__class__
    answers = [response_type.FromString(r) for r in ctx.client.raw_stream(f"/{INFERENCE}/ModelStreamInfer", payloads)]
    errors = [a for a in answers if a.error_message]
    assert len(answers) == 5 and len(errors) == 1, answers
    ids = sorted(a.infer_response.id for a in answers if not a.error_message)
    assert ids == ["ok-0", "ok-1", "ok-2", "ok-3"], ids


@case("main")
def concurrent_streams_each_get_their_own_answers(ctx):
    # Sixteen streams at once, half on the shared channel (one HTTP/2 connection) and half on channels of their own.
    def one_stream(s):
        client = ctx.new_client() if s % 2 else ctx.client
        try:
            requests = [infer_request(ctx, "identity", identity_inputs(DATATYPES, rows=1 + i % 3), request_id=f"{s}-{i}") if i % 4 == 0
                        else simple_request(ctx, s * 100 + i, i, request_id=f"{s}-{i}") for i in range(40)]
            answers = {}
            for answer in client.stream(requests):
                assert not answer.error_message, answer.error_message
                answers[answer.infer_response.id] = answer.infer_response
            assert len(answers) == 40, (s, sorted(answers))
            for i in range(40):
                if i % 4 == 0:
                    for datatype in DATATYPES:
                        check_identity_output(answers[f"{s}-{i}"], datatype, rows=1 + i % 3)
                else:
                    check_simple(answers[f"{s}-{i}"], s * 100 + i, i)
        finally:
            if client is not ctx.client:
                client.close()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one_stream, range(16)))


@case("main")
def stream_with_no_requests_ends_cleanly(ctx):
    assert list(ctx.client.stream([])) == []


@case("main")
def stream_answers_carry_triton_final_response(ctx):
    # As Triton's stream handler: the answer to a request that was scheduled is its final response (nothing here
    # is decoupled) and says so; a request refused before it was scheduled carries no parameters.
    requests = [simple_request(ctx, i, 1, request_id=f"ok-{i}") for i in range(3)]
    requests.append(simple_request(ctx, 1, 1, model="nope", request_id="refused"))
    answers = {a.infer_response.id: a for a in ctx.client.stream(requests)}
    assert sorted(answers) == ["ok-0", "ok-1", "ok-2", "refused"], sorted(answers)
    for i in range(3):
        parameters = answers[f"ok-{i}"].infer_response.parameters
        assert "triton_final_response" in parameters, parameters
        assert parameters["triton_final_response"].WhichOneof("parameter_choice") == "bool_param", parameters
        assert parameters["triton_final_response"].bool_param, parameters
    assert answers["refused"].error_message and "triton_final_response" not in answers["refused"].infer_response.parameters, answers["refused"]
    # Only streams carry it, as in Triton.
    assert "triton_final_response" not in ctx.client.call("ModelInfer", simple_request(ctx, 1, 1)).parameters


# ---------------------------------------------------------------------------------------------- queueing (a busy model)
#
# The "slow" model (slow_batch.onnx: one request per batch, one instance, max_queue_size 2) is kept busy
# by one long request; what the cases send meanwhile waits in its queue.


class BusyEndedEarly(Exception):
    """The busy request ended before the case checked what it waits for: the attempt proves nothing either way.

    How long the busy request runs was calibrated at the start; on a machine whose load changes (other suites run beside
    this one) it may end sooner. The runner then settles and tries the case again with twice the work.
    """


class Busy:
    """One long request on the slow model, running (not queued) once constructed; the executions before it are noted."""

    iterations = None
    current = None

    def __init__(self, ctx):
        if Busy.iterations is None:
            Busy.iterations = calibrate(ctx)
        for _ in range(3):
            self.future = ctx.client.future("ModelInfer", slow_request(ctx, Busy.iterations, "busy"), timeout=120)
            if self._occupies_the_instance(ctx):
                # Every execution before it has been counted, and its own is counted when it ends.
                self.executions_before = ctx.stats("slow").execution_count
                if not self.future.done():
                    self.finished = False
                    Busy.current = self
                    return
            # The machine was busier while calibrating (other suites run beside this one) than now: more work, again.
            self.future.result()
            Busy.iterations *= 4
        raise AssertionError("the busy request ended before it was seen running three times, with 16 times the work at the end")

    def _occupies_the_instance(self, ctx):
        """Whether the busy request is seen running: a probe with a queue timeout of 1 ms finds the one instance taken.

        Time since sending proves nothing on a loaded machine: the busy request may not have reached the server yet,
        and a request sent next would run first. A probe that runs (the instance was free) is sent again; one that
        times out in the queue was queued behind the busy request, and left the queue without running.
        """
        probe = slow_request(ctx, 1, "probe", parameters={"timeout": parameter(ctx, int64_param=1_000)})
        deadline = time.monotonic() + 30
        while not self.future.done():
            try:
                ctx.client.call("ModelInfer", probe)
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.UNAVAILABLE and "timed out" in e.details(), (e.code(), e.details())
                wait_for(lambda: pending(ctx) == 0, "the probe to leave the queue")
                return True
            assert time.monotonic() < deadline, "the busy request was not seen running within 30 s"
            time.sleep(0.05)
        return False

    def check_running(self, what):
        """Raises BusyEndedEarly when the busy request has ended: what the case checked may have run after it."""
        if self.future.done():
            raise BusyEndedEarly(what)

    def settle(self, ctx):
        """After an inconclusive attempt: the busy request has ended and whatever the case queued has left the queue."""
        self.future.result()
        wait_for(lambda: pending(ctx) == 0, "the queue to empty after an inconclusive attempt")

    def finish(self):
        self.finished = True
        response = self.future.result()
        assert response.id == "busy", response.id

    @property
    def ended_early(self):
        """Whether the busy request ended before the case was done with it."""
        return not self.finished and self.future.done()

    def assert_ran_alone(self, ctx, what):
        """Once finished: the model ran the busy request and nothing else since it was sent."""
        executions = ctx.stats("slow").execution_count
        assert executions == self.executions_before + 1, \
            f"{what}: {executions - self.executions_before} executions since the busy request was sent, not 1"


def slow_request(ctx, iterations, request_id="", **kwargs):
    return infer_request(ctx, "slow", [tensor("X", "FP32", np.full(64 * 64, 0.01, np.float32), [1, 64, 64]),
                                       tensor("ITERATIONS", "INT64", np.array([iterations], np.int64), [1, 1])],
                         request_id=request_id, **kwargs)


def calibrate(ctx):
    """Iterations of the slow model that keep it busy for about 6 seconds on this machine."""
    # The first run pays for warming up (the server's JIT, the runtime's first session run): it measures nothing.
    ctx.client.call("ModelInfer", slow_request(ctx, 1))
    iterations = 1000
    while True:
        elapsed = timed_slow_run(ctx, iterations)
        if elapsed > 0.4:
            # The faster of two runs: other suites share the machine, and a run they slowed down would make the
            # busy request too short once they stop.
            elapsed = min(elapsed, timed_slow_run(ctx, iterations))
            return int(iterations * 6 / elapsed)
        iterations *= 4


def timed_slow_run(ctx, iterations):
    start = time.monotonic()
    ctx.client.call("ModelInfer", slow_request(ctx, iterations))
    return time.monotonic() - start


def pending(ctx):
    return ctx.metric("nv_inference_pending_request_count", model="slow", version="1") or 0


def canceled(ctx):
    return failures(ctx, "CANCELED")


def failures(ctx, reason):
    return ctx.metric("nv_inference_request_failure", model="slow", reason=reason, version="1") or 0


def dropped(ctx):
    """Requests that left the queue without running: a gRPC deadline is also the request's queue timeout, so one that
    passes in the queue is REJECTED when the queue's timer sees it first and CANCELED when the call's cancellation does."""
    return failures(ctx, "CANCELED") + failures(ctx, "REJECTED")


def wait_for(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


@case("queue")
def queue_full_is_unavailable(ctx):
    busy = Busy(ctx)
    queued = [ctx.client.future("ModelInfer", slow_request(ctx, 1, f"queued-{i}"), timeout=120) for i in range(2)]
    wait_for(lambda: pending(ctx) == 2, "two queued requests")
    e = expect_status(grpc.StatusCode.UNAVAILABLE, ctx.client.call, "ModelInfer", slow_request(ctx, 1, "third"))
    assert "queue" in e.details(), e.details()
    busy.check_running("the busy request ended before the queue was seen full")
    busy.finish()
    assert sorted(f.result().id for f in queued) == ["queued-0", "queued-1"]


@case("queue")
def deadline_expires_while_queued(ctx):
    busy = Busy(ctx)
    dropped_before = dropped(ctx)
    start = time.monotonic()
    late = ctx.client.future("ModelInfer", slow_request(ctx, 1, "late"), timeout=2)
    expect_status(grpc.StatusCode.DEADLINE_EXCEEDED, late.result)
    assert time.monotonic() - start < 5, "the deadline took far longer than 2 s"
    # The server drops it from the queue when the deadline passes, while the busy request still runs, and never runs
    # it: if it stayed queued, it would run once the busy request ends. (Whether it reached the queue before its
    # deadline depends on the machine's load, so that is not required; it is counted at most once.)
    wait_for(lambda: pending(ctx) == 0, "the expired request to leave the queue")
    assert dropped(ctx) <= dropped_before + 1, f"dropped {dropped_before} -> {dropped(ctx)}"
    busy.check_running("the busy request ended before the deadline could be checked")
    busy.finish()
    busy.assert_ran_alone(ctx, "the expired request was executed")


@case("queue")
def timeout_parameter_expires_while_queued(ctx):
    # No client deadline: the server's queue timeout is the parameter, and it answers as Triton answers a queue timeout
    # (UNAVAILABLE, "Request timeout expired"), with the retry pushback of a request shed under load.
    busy = Busy(ctx)
    request = slow_request(ctx, 1, "late", parameters={"timeout": parameter(ctx, int64_param=200_000)})
    e = expect_status(grpc.StatusCode.UNAVAILABLE, ctx.client.call, "ModelInfer", request, timeout=None)
    assert "timed out" in e.details(), e.details()
    assert ("grpc-retry-pushback-ms", "1000") in (e.trailing_metadata() or ()), e.trailing_metadata()
    busy.check_running("the busy request ended before the queue timeout could be checked")
    busy.finish()
    busy.assert_ran_alone(ctx, "the expired request was executed")


@case("queue")
def cancelled_call_is_removed_from_the_queue(ctx):
    busy = Busy(ctx)
    canceled_before = canceled(ctx)
    future = ctx.client.future("ModelInfer", slow_request(ctx, 1, "abandoned"), timeout=120)
    wait_for(lambda: pending(ctx) == 1, "the request to be queued")
    assert future.cancel(), "the call could not be cancelled"
    wait_for(lambda: pending(ctx) == 0, "the cancelled request to leave the queue")
    busy.check_running("the busy request ended before the cancellation could be checked")
    busy.finish()
    busy.assert_ran_alone(ctx, "the cancelled request was executed")
    canceled_after = canceled(ctx)
    assert canceled_after == canceled_before + 1, f"CANCELED failures: {canceled_before} -> {canceled_after}"
    # And the server goes on serving.
    assert ctx.client.call("ModelInfer", slow_request(ctx, 1, "after")).id == "after"


@case("queue")
def stream_deadline_expires_while_queued(ctx):
    busy = Busy(ctx)
    dropped_before = dropped(ctx)
    sent = threading.Event()

    def requests():
        yield slow_request(ctx, 1, "stream-late")
        sent.set()
        time.sleep(5)  # the stream stays open; the deadline ends it

    # Longer than the unary case's: a stream's first message reaches the server later on a loaded machine.
    call = ctx.client.stream(requests(), timeout=3)
    expect_status(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: list(call))
    assert sent.is_set()
    # Dropped from the queue when the deadline passed, and never run (as in the unary case).
    wait_for(lambda: pending(ctx) == 0, "the expired stream's request to leave the queue")
    assert dropped(ctx) <= dropped_before + 1, f"dropped {dropped_before} -> {dropped(ctx)}"
    busy.check_running("the busy request ended before the deadline could be checked")
    busy.finish()
    busy.assert_ran_alone(ctx, "the expired stream's request was executed")


@case("queue")
def stream_timeout_parameter_answers_an_error_with_its_id(ctx):
    busy = Busy(ctx)
    requests = [slow_request(ctx, 1, "late", parameters={"timeout": parameter(ctx, int64_param=100_000)}),
                simple_request(ctx, 1, 1, request_id="quick")]
    answers = {a.infer_response.id: a for a in ctx.client.stream(requests, timeout=None)}
    assert sorted(answers) == ["late", "quick"], sorted(answers)
    assert "timed out" in answers["late"].error_message, answers["late"]
    assert not answers["quick"].error_message, answers["quick"].error_message
    busy.check_running("the busy request ended before the queue timeout could be checked")
    busy.finish()


@case("queue")
def stream_queue_timeout_answer_is_final(ctx):
    # The request was scheduled and its completion is the timeout: Triton marks that answer final.
    busy = Busy(ctx)
    request = slow_request(ctx, 1, "late", parameters={"timeout": parameter(ctx, int64_param=100_000)})
    answers = list(ctx.client.stream([request], timeout=None))
    assert len(answers) == 1 and "timed out" in answers[0].error_message, answers
    parameters = answers[0].infer_response.parameters
    assert "triton_final_response" in parameters and parameters["triton_final_response"].bool_param, answers[0]
    assert answers[0].infer_response.id == "late" and answers[0].infer_response.model_name == "slow", answers[0]
    busy.finish()


@case("queue")
def stream_requests_run_concurrently(ctx):
    # A long request first on the stream must not hold up quick ones behind it on another model.
    if Busy.iterations is None:
        Busy.iterations = calibrate(ctx)
    # About 3 s of work, and simple warmed up beforehand (its first run pays for the session's first allocations),
    # so on a busy two-core machine eight quick answers still come well before the slow one.
    slow_iterations = Busy.iterations // 2
    ctx.client.call("ModelInfer", simple_request(ctx, 0, 1, request_id="warm-up"))
    order = []
    requests = [slow_request(ctx, slow_iterations, "slow")] + [simple_request(ctx, i, 1, request_id=f"quick-{i}") for i in range(8)]
    for answer in ctx.client.stream(requests):
        assert not answer.error_message, answer.error_message
        order.append(answer.infer_response.id)
    assert sorted(order) == sorted(["slow"] + [f"quick-{i}" for i in range(8)]), order
    assert order[-1] == "slow", f"answers came in the order sent: {order}"


@case("queue")
def stream_cancelled_while_queued_removes_its_requests(ctx):
    busy = Busy(ctx)
    gate = threading.Event()

    def requests():
        yield slow_request(ctx, 1, "stream-queued")
        gate.wait(30)

    call = ctx.client.stream(requests(), timeout=120)
    wait_for(lambda: pending(ctx) == 1, "the stream's request to be queued")
    call.cancel()
    gate.set()
    wait_for(lambda: pending(ctx) == 0, "the cancelled stream's request to leave the queue")
    busy.finish()
    busy.assert_ran_alone(ctx, "the cancelled stream's request was executed")
    assert ctx.client.call("ModelInfer", slow_request(ctx, 1, "after")).id == "after"


# ---------------------------------------------------------------------------------------------- message size limits
#
# A server whose Grpc:MaxReceiveMessageBytes is 1024 and Grpc:MaxSendMessageBytes 256.


@case("limits")
def message_over_the_limit_is_resource_exhausted(ctx):
    request = simple_request(ctx, 1, 1)
    request.id = "x" * 2000
    e = expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, ctx.client.call, "ModelInfer", request)
    assert "1024" in e.details(), e.details()
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 1, 1)), 1, 1)


@case("limits")
def compressed_message_over_the_limit_once_inflated_is_resource_exhausted(ctx):
    client = ctx.new_client(compression=grpc.Compression.Gzip)
    try:
        request = simple_request(ctx, 1, 1)
        request.id = "x" * 100_000
        assert len(request.SerializeToString()) > 1024
        e = expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, client.call, "ModelInfer", request)
        # It came compressed, under the limit; the limit applies to what it inflates to.
        assert "decompress" in e.details(), e.details()
        check_simple(client.call("ModelInfer", simple_request(ctx, 2, 1)), 2, 1)
    finally:
        client.close()


@case("limits")
def message_over_the_limit_on_a_stream_is_resource_exhausted(ctx):
    big = simple_request(ctx, 1, 1, request_id="x" * 2000)
    answers = []
    e = expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, lambda: answers.extend(ctx.client.stream([simple_request(ctx, 1, 1, request_id="small"), big])))
    assert "1024" in e.details(), e.details()
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 3, 1)), 3, 1)


@case("limits")
def message_at_the_limit_is_served(ctx):
    # Padded with a parameter the server ignores (an id would come back in the response, over the send limit).
    request = simple_request(ctx, 1, 1, parameters={"padding": parameter(ctx, string_param="")})
    while request.ByteSize() < 1024:
        request.parameters["padding"].string_param += "x" * max(1, 1024 - request.ByteSize() - 1)
        if request.ByteSize() > 1024:
            request.parameters["padding"].string_param = request.parameters["padding"].string_param[: -(request.ByteSize() - 1024)]
    assert request.ByteSize() == 1024, request.ByteSize()
    check_simple(ctx.client.call("ModelInfer", request), 1, 1)


@case("limits")
def response_over_the_send_limit_is_resource_exhausted(ctx):
    # Grpc:MaxSendMessageBytes is 256: one row of simple's answer fits, two rows do not.
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 1, 1)), 1, 1)
    rows = np.ones((2, 16), np.int32)
    request = infer_request(ctx, "simple", [tensor("INPUT0", "INT32", rows, [2, 16]), tensor("INPUT1", "INT32", rows, [2, 16])])
    assert request.ByteSize() < 1024, request.ByteSize()
    e = expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, ctx.client.call, "ModelInfer", request)
    assert "256" in e.details(), e.details()
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 2, 1)), 2, 1)


# ---------------------------------------------------------------------------------------------- response compression
#
# A server with Grpc:ResponseCompression=gzip (suite "gzip") or deflate (suite "deflate").


@case("gzip")
def gzip_responses_decode_exactly(ctx):
    # Rows of repeated values compress well; simple takes at most 8 rows per request.
    rows = np.repeat(np.arange(64, dtype=np.int32), 16).reshape(64, 16)
    ones = np.ones((8, 16), np.int32)
    for start in range(0, 64, 8):
        part = rows[start : start + 8]
        request = infer_request(ctx, "simple", [tensor("INPUT0", "INT32", part, [8, 16]), tensor("INPUT1", "INT32", ones, [8, 16])])
        outputs = outputs_by_name(ctx.client.call("ModelInfer", request))
        assert np.array_equal(from_raw("INT32", outputs["OUTPUT0"][2], [8, 16]), part + 1)
        assert np.array_equal(from_raw("INT32", outputs["OUTPUT1"][2], [8, 16]), part - 1)
    for method, request in (("ServerMetadata", ctx.m("ServerMetadataRequest")), ("RepositoryIndex", ctx.m("RepositoryIndexRequest"))):
        assert ctx.client.call(method, request).ByteSize() > 0, method


@case("gzip")
def gzip_responses_on_a_stream(ctx):
    answers = {a.infer_response.id: a for a in ctx.client.stream(simple_request(ctx, i, 2, request_id=str(i)) for i in range(16))}
    assert sorted(answers, key=int) == [str(i) for i in range(16)], sorted(answers)
    for i in range(16):
        check_simple(answers[str(i)].infer_response, i, 2)


@case("gzip")
def gzip_errors_still_carry_their_status(ctx):
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelInfer", simple_request(ctx, 1, 1, model="nope"))


def requests_and_responses_both_ways(ctx, compression):
    """A client that compresses its requests with `compression` reads the server's compressed answers, unary and stream."""
    client = ctx.new_client(compression=compression)
    try:
        check_simple(client.call("ModelInfer", simple_request(ctx, 5, 2)), 5, 2)
        answers = {a.infer_response.id: a for a in client.stream(simple_request(ctx, i, 2, request_id=str(i)) for i in range(8))}
        assert sorted(answers, key=int) == [str(i) for i in range(8)], sorted(answers)
    finally:
        client.close()


@case("gzip")
def gzip_requests_and_responses_both_ways(ctx):
    requests_and_responses_both_ways(ctx, grpc.Compression.Gzip)


# A server with Grpc:ResponseCompression=deflate (zlib framing, as gRPC's "deflate" is): the same cases.
register_case("deflate", "deflate_responses_decode_exactly", gzip_responses_decode_exactly)
register_case("deflate", "deflate_responses_on_a_stream", gzip_responses_on_a_stream)
register_case("deflate", "deflate_errors_still_carry_their_status", gzip_errors_still_carry_their_status)


@case("deflate")
def deflate_requests_and_responses_both_ways(ctx):
    requests_and_responses_both_ways(ctx, grpc.Compression.Deflate)


# ---------------------------------------------------------------------------------------------- repository API
# Suite "repository": a server in explicit model control mode over a repository holding `simple`, nothing loaded.

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "fixtures", "onnx")


def repository_parameter(ctx, **choice):
    return ctx.m("ModelRepositoryParameter", **choice)


def load(ctx, model, **parameters):
    request = ctx.m("RepositoryModelLoadRequest", model_name=model)
    for key, value in parameters.items():
        request.parameters[key].CopyFrom(value)
    return ctx.client.call("RepositoryModelLoad", request, timeout=60)


def unload(ctx, model, **parameters):
    request = ctx.m("RepositoryModelUnloadRequest", model_name=model)
    for key, value in parameters.items():
        request.parameters[key].CopyFrom(value)
    return ctx.client.call("RepositoryModelUnload", request, timeout=60)


def is_ready(ctx, model):
    return ctx.client.call("ModelReady", ctx.m("ModelReadyRequest", name=model)).ready


@case("repository")
def repository_load_then_unload(ctx):
    assert not is_ready(ctx, "simple"), "explicit mode loads nothing without --load-model"
    load(ctx, "simple")
    assert is_ready(ctx, "simple")
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 2, 3)), 2, 3)
    rows = {(m.name, m.version): m.state for m in ctx.client.call("RepositoryIndex", ctx.m("RepositoryIndexRequest")).models}
    assert rows.get(("simple", "1")) == "READY", rows
    unload(ctx, "simple", unload_dependents=repository_parameter(ctx, bool_param=False))
    assert not is_ready(ctx, "simple")
    # An unloaded model has left the served snapshot: the same NOT_FOUND as REST's 404.
    expect_status(grpc.StatusCode.NOT_FOUND, ctx.client.call, "ModelInfer", simple_request(ctx, 2, 3))


@case("repository")
def repository_load_with_config_and_uploaded_file(ctx):
    config = json.dumps({
        "name": "uploaded",
        "backend": "onnxruntime",
        "max_batch_size": 8,
        "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": [16]},
                  {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
        "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": [16]},
                   {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
    })
    with open(os.path.join(FIXTURES, "add_sub.onnx"), "rb") as f:
        model = f.read()
    load(ctx, "uploaded", config=repository_parameter(ctx, string_param=config),
         **{"file:1/model.onnx": repository_parameter(ctx, bytes_param=model)})
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 5, 1, model="uploaded")), 5, 1)
    unload(ctx, "uploaded")
    assert not is_ready(ctx, "uploaded")


@case("repository")
def repository_upload_escaping_the_model_folder_is_invalid(ctx):
    config = json.dumps({"name": "escape", "backend": "onnxruntime", "max_batch_size": 0})
    for path in ("../outside/model.onnx", "1/../../model.onnx", "/etc/model.onnx"):
        expect_status(grpc.StatusCode.INVALID_ARGUMENT, load, ctx, "escape",
                      config=repository_parameter(ctx, string_param=config),
                      **{"file:" + path: repository_parameter(ctx, bytes_param=b"x")})


@case("repository")
def repository_parameters_of_the_wrong_kind_are_invalid(ctx):
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, load, ctx, "simple", config=repository_parameter(ctx, bytes_param=b"{}"))
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, load, ctx, "simple",
                  **{"file:1/model.onnx": repository_parameter(ctx, string_param="not bytes")})
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, unload, ctx, "simple", unload_dependents=repository_parameter(ctx, int64_param=1))


@case("repository")
def repository_load_of_an_unknown_model_is_not_found(ctx):
    expect_status(grpc.StatusCode.NOT_FOUND, load, ctx, "nope")


@case("repository")
def repository_load_of_a_bad_config_is_invalid_and_changes_nothing(ctx):
    load(ctx, "simple")
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, load, ctx, "simple", config=repository_parameter(ctx, string_param="{not json"))
    check_simple(ctx.client.call("ModelInfer", simple_request(ctx, 1, 1)), 1, 1)
    unload(ctx, "simple")


@case("main")
def repository_load_outside_explicit_mode_is_unavailable(ctx):
    error = expect_status(grpc.StatusCode.UNAVAILABLE, ctx.client.call, "RepositoryModelLoad", ctx.m("RepositoryModelLoadRequest", model_name="simple"))
    assert "explicit" in error.details(), error.details()
    expect_status(grpc.StatusCode.UNAVAILABLE, ctx.client.call, "RepositoryModelUnload", ctx.m("RepositoryModelUnloadRequest", model_name="simple"))


# ---------------------------------------------------------------------------------------------- runner


def run(suite, ctx, names):
    results = []
    for name, fn in SUITES[suite]:
        if names and name not in names:
            continue
        start = time.monotonic()
        try:
            run_case(fn, ctx)
            failure = None
        except Exception as e:  # noqa: BLE001 - every failure is a result to report
            detail = e.details() if isinstance(e, grpc.RpcError) and hasattr(e, "details") else ""
            failure = "".join(traceback.format_exception(type(e), e, e.__traceback__)) + (f"\nstatus details: {detail}" if detail else "")
        results.append({"name": name, "passed": failure is None, "failure": failure, "seconds": round(time.monotonic() - start, 3)})
        print(("PASS " if failure is None else "FAIL ") + name, file=sys.stderr, flush=True)
    return results


def run_case(fn, ctx, attempts=3):
    """Runs a case; one whose busy request ended before it was done (BusyEndedEarly, or any failure seen while the busy
    request had already ended: what it checked may then have run after it) is inconclusive and runs again with twice the
    work. A real fault fails every attempt: an expired request that ran, for one, could only run after the busy one."""
    for attempt in range(1, attempts + 1):
        Busy.current = None
        try:
            return fn(ctx)
        except Exception as e:  # noqa: BLE001 - inconclusive or not, decided below
            busy = Busy.current
            if attempt == attempts or busy is None or not (isinstance(e, BusyEndedEarly) or busy.ended_early):
                raise
            print(f"AGAIN {fn.__name__}: the busy request ended early ({e})", file=sys.stderr, flush=True)
            busy.settle(ctx)
            Busy.iterations *= 2


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--descriptors", help="descriptor set of the server's .proto files (protoc --include_imports)")
    parser.add_argument("--target", help="host:port of the gRPC endpoint")
    parser.add_argument("--metrics", help="URL of /metrics")
    parser.add_argument("--suite", choices=sorted(SUITES))
    parser.add_argument("--results", help="file to write the JSON results to (default: stdout)")
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the case names and exit")
    args = parser.parse_args()
    if args.list:
        for suite in sorted(SUITES) if not args.suite else [args.suite]:
            for name, _ in SUITES[suite]:
                print(f"{suite} {name}")
        return 0
    unknown = set(args.case) - {name for name, _ in SUITES[args.suite]}
    if unknown:
        parser.error(f"no such case in suite {args.suite}: {', '.join(sorted(unknown))}")
    ctx = Context(Messages(args.descriptors), args.target, args.metrics)
    try:
        results = run(args.suite, ctx, set(args.case))
    finally:
        ctx.client.close()
    text = json.dumps({"suite": args.suite, "cases": results}, indent=1)
    if args.results:
        with open(args.results, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
