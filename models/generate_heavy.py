#!/usr/bin/python3
"""Generate a compute-heavy benchmark model: ResNet-50 (v1.5) with random weights.

Run with Debian's Python, which has the onnx and numpy packages:

    /usr/bin/python3 models/generate_heavy.py [REPOSITORY]

REPOSITORY defaults to benchmarks/.heavy-repository (ignored by git). Written files:
    REPOSITORY/resnet50/config.pbtxt
    REPOSITORY/resnet50/1/model.onnx      (about 100 MB, so generated on demand, never committed)

This is a model repository of its own, not a folder under models/: models/ is the sample
repository the README serves, and a model that is only there after running a script would show
up as a failing model.

The network is the usual ResNet-50 v1.5 layout: a 7x7 stride-2 stem convolution and a 3x3
stride-2 max pool, bottleneck stages of [3, 4, 6, 3] blocks with widths 64/128/256/512 (x4
expansion), stride 2 in the 3x3 convolution of the first block of stages 2-4, projection
shortcuts where the shape changes, global average pooling, a 2048 -> 1000 fully connected layer
and a softmax. BatchNorm is folded away: every convolution carries a bias instead, which is what
an exported, inference-optimized ResNet looks like. Weights are random (fixed seed), He-scaled;
the last convolution of each residual branch is scaled down so that the identity paths do not
make activations grow block after block. The output is meaningless as a classification; the
model exists to measure how fast the server runs a real-sized convolutional network.

Input `input` FP32 [-1, 3, 224, 224], output `probabilities` FP32 [-1, 1000]; opset 17,
IR version 8, no timestamps, so a rerun writes byte-identical files.

A rerun skips the work when model.onnx exists and config.pbtxt carries the same spec stamp
(a hash of everything that decides the weights and the layout; see SPEC below).
"""

import hashlib
import json
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("generate_heavy.py needs numpy: install the Debian package python3-numpy "
             "(apt-get install python3-numpy) and run with /usr/bin/python3")
try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    sys.exit("generate_heavy.py needs onnx: install the Debian package python3-onnx "
             "(apt-get install python3-onnx) and run with /usr/bin/python3")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_REPOSITORY = os.path.join(ROOT, "benchmarks", ".heavy-repository")
MODEL_NAME = "resnet50"

PRODUCER_NAME = "InferenceServer models/generate_heavy.py"
PRODUCER_VERSION = "1"
OPSET = 17
IR_VERSION = 8

# Everything that decides the file's bytes. Change any of it and a rerun regenerates.
SPEC = {
    "layout": "resnet50-v1.5",
    "stages": [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]],  # width, blocks, stride
    "expansion": 4,
    "classes": 1000,
    "seed": 20261122,
    "bias_std": 0.01,
    "branch_out_scale": 0.2,
    "max_batch_size": 32,
    "producer_version": PRODUCER_VERSION,
    "opset": OPSET,
    "ir_version": IR_VERSION,
}
SPEC_STAMP = hashlib.sha256(json.dumps(SPEC, sort_keys=True).encode()).hexdigest()[:16]


class GraphBuilder:
    """Collects nodes and initializers; names tensors by the layer they come from."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.initializers = []

    def _weight(self, name, shape, std):
        values = (self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(values, name))
        return name

    def conv(self, name, x, in_channels, out_channels, kernel, stride=1, scale=1.0):
        """Convolution with its BatchNorm folded into the bias; He-normal weights."""
        fan_in = in_channels * kernel * kernel
        w = self._weight(name + ".weight", (out_channels, in_channels, kernel, kernel), scale * np.sqrt(2.0 / fan_in))
        b = self._weight(name + ".bias", (out_channels,), SPEC["bias_std"])
        pad = kernel // 2
        self.nodes.append(helper.make_node(
            "Conv", [x, w, b], [name], name=name,
            kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad, pad, pad, pad]))
        return name

    def op(self, op_type, name, inputs, **attributes):
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attributes))
        return name

    def relu(self, name, x):
        return self.op("Relu", name, [x])

    def bottleneck(self, prefix, x, in_channels, width, stride):
        out_channels = width * SPEC["expansion"]
        y = self.relu(prefix + ".relu1", self.conv(prefix + ".conv1", x, in_channels, width, 1))
        # v1.5: the stride sits on the 3x3 convolution, not the first 1x1.
        y = self.relu(prefix + ".relu2", self.conv(prefix + ".conv2", y, width, width, 3, stride))
        y = self.conv(prefix + ".conv3", y, width, out_channels, 1, scale=SPEC["branch_out_scale"])
        if stride != 1 or in_channels != out_channels:
            shortcut = self.conv(prefix + ".downsample", x, in_channels, out_channels, 1, stride)
        else:
            shortcut = x
        return self.relu(prefix + ".relu3", self.op("Add", prefix + ".add", [y, shortcut])), out_channels


def build_model():
    g = GraphBuilder(np.random.default_rng(SPEC["seed"]))
    x = g.relu("stem.relu", g.conv("stem.conv", "input", 3, 64, 7, 2))
    x = g.op("MaxPool", "stem.pool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 64
    for stage, (width, blocks, stride) in enumerate(SPEC["stages"], start=1):
        for block in range(blocks):
            x, channels = g.bottleneck(f"layer{stage}.{block}", x, channels, width, stride if block == 0 else 1)
    x = g.op("GlobalAveragePool", "pool", [x])
    x = g.op("Flatten", "flatten", [x], axis=1)
    classes = SPEC["classes"]
    w = g._weight("fc.weight", (classes, channels), np.sqrt(1.0 / channels))
    b = g._weight("fc.bias", (classes,), SPEC["bias_std"])
    x = g.op("Gemm", "fc", [x, w, b], transB=1)
    g.nodes.append(helper.make_node("Softmax", [x], ["probabilities"], name="softmax", axis=1))

    graph = helper.make_graph(
        g.nodes, MODEL_NAME,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes])],
        initializer=g.initializers)
    model = helper.make_model(
        graph,
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string="ResNet-50 v1.5 layout, BatchNorm folded, random He-scaled weights (seed "
                   f"{SPEC['seed']}); for throughput benchmarks only, its outputs mean nothing.")
    model.ir_version = IR_VERSION
    model.model_version = 1
    # The checker with full_check also runs shape inference over the whole graph.
    onnx.checker.check_model(model, full_check=True)
    return model


def config_text():
    return f"""# resnet50: ResNet-50 v1.5 with random weights, written by models/generate_heavy.py for
# benchmarks/heavy-vs-raw.sh. spec: {SPEC_STAMP}
# No dynamic_batching: the server runs exactly the batch each request sends. No parameters:
# ONNX Runtime's thread settings are left to the server's defaults.
name: "{MODEL_NAME}"
platform: "onnxruntime_onnx"
max_batch_size: {SPEC["max_batch_size"]}
input [
  {{
    name: "input"
    data_type: TYPE_FP32
    dims: [ 3, 224, 224 ]
  }}
]
output [
  {{
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ {SPEC["classes"]} ]
  }}
]
instance_group [
  {{
    count: 1
    kind: KIND_CPU
  }}
]
"""


def write_atomically(path, data, report=True):
    """Writes beside the target and renames over it, so a reader never sees half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
    if report:
        print("wrote", path, f"({len(data) / 1e6:.1f} MB)")


def main():
    repository = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REPOSITORY)
    folder = os.path.join(repository, MODEL_NAME)
    model_path = os.path.join(folder, "1", "model.onnx")
    config_path = os.path.join(folder, "config.pbtxt")
    config = config_text()
    if os.path.exists(model_path) and os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as f:
            if f.read() == config:
                print(f"{model_path} is up to date (spec {SPEC_STAMP}); not regenerating")
                return
    model = build_model()
    parameters = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"ResNet-50: {len(model.graph.node)} nodes, {parameters:,} parameters")
    # The model first, the config (which carries the stamp) last: an interrupted run regenerates.
    write_atomically(model_path, model.SerializeToString())
    write_atomically(config_path, config.encode("utf-8"))


if __name__ == "__main__":
    main()
