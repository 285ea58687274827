#!/usr/bin/python3
"""Generate a repository of many variants of one mid-size model, for the many-models benchmark.

Run with Debian's Python, which has the onnx and numpy packages:

    /usr/bin/python3 models/generate_variants.py [REPOSITORY] [COUNT]

REPOSITORY defaults to benchmarks/.variants-repository (ignored by git), COUNT to 200. Written files:
    REPOSITORY/variant_<i>/config.pbtxt
    REPOSITORY/variant_<i>/1/model.onnx      (about 20 MB each, so generated on demand, never committed)

This is a model repository of its own, not a folder under models/ (see generate_heavy.py for why).
It stands for what a server with many models holds: per-customer or per-region variants of one
architecture, each with its own weights, most of them idle most of the time.

Every variant is the same MLP, FP32 [-1, 512] -> 2048 -> 1536 -> 512 -> 16, with a ReLU after each
hidden layer and biases throughout: 4,993,040 parameters, 19.97 MB of weights. Variant i draws its
weights from seed BASE_SEED + i (He-scaled normal), so the files differ while their size and their
cost to load and to run are the same. Input `input` FP32 [-1, 512], output `output` FP32 [-1, 16];
opset 17, IR version 8, no timestamps, so a rerun writes byte-identical files.

A rerun skips a variant whose model.onnx exists and whose config.pbtxt carries the same spec stamp;
asking for fewer variants than exist leaves the others in place.
"""

import hashlib
import json
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("generate_variants.py needs numpy: install the Debian package python3-numpy "
             "(apt-get install python3-numpy) and run with /usr/bin/python3")
try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    sys.exit("generate_variants.py needs onnx: install the Debian package python3-onnx "
             "(apt-get install python3-onnx) and run with /usr/bin/python3")

# The heavy model's generator is a sibling script (this folder is first on sys.path when either runs).
from generate_heavy import write_atomically  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_REPOSITORY = os.path.join(ROOT, "benchmarks", ".variants-repository")
DEFAULT_COUNT = 200

PRODUCER_NAME = "InferenceServer models/generate_variants.py"
PRODUCER_VERSION = "1"
OPSET = 17
IR_VERSION = 8

# Everything that decides a variant's bytes (with its index). Change any of it and a rerun regenerates.
SPEC = {
    "layout": "mlp-relu",
    "widths": [512, 2048, 1536, 512, 16],
    "base_seed": 20261204,
    "max_batch_size": 8,
    "producer_version": PRODUCER_VERSION,
    "opset": OPSET,
    "ir_version": IR_VERSION,
}
SPEC_STAMP = hashlib.sha256(json.dumps(SPEC, sort_keys=True).encode()).hexdigest()[:16]


def name_of(index):
    return f"variant_{index}"


def build_model(index):
    rng = np.random.default_rng(SPEC["base_seed"] + index)
    widths = SPEC["widths"]
    nodes, initializers, last = [], [], "input"
    for layer, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        weight = (rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(np.sqrt(2.0 / n_in)))
        bias = (rng.standard_normal(n_out, dtype=np.float32) * np.float32(0.01))
        initializers.append(numpy_helper.from_array(weight, f"w{layer}"))
        initializers.append(numpy_helper.from_array(bias, f"b{layer}"))
        nodes.append(helper.make_node("MatMul", [last, f"w{layer}"], [f"m{layer}"]))
        nodes.append(helper.make_node("Add", [f"m{layer}", f"b{layer}"], [f"a{layer}"]))
        last = f"a{layer}"
        if layer < len(widths) - 2:
            nodes.append(helper.make_node("Relu", [last], [f"r{layer}"]))
            last = f"r{layer}"
    nodes.append(helper.make_node("Identity", [last], ["output"]))
    graph = helper.make_graph(
        nodes, name_of(index),
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", widths[0]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", widths[-1]])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name=PRODUCER_NAME, producer_version=PRODUCER_VERSION)
    model.ir_version = IR_VERSION
    model.model_version = 1
    onnx.checker.check_model(model)
    return model


def config_text(index):
    widths = SPEC["widths"]
    return f"""# {name_of(index)}: an MLP variant (seed {SPEC["base_seed"] + index}), written by models/generate_variants.py
# for benchmarks/many-models.sh. spec: {SPEC_STAMP}
name: "{name_of(index)}"
platform: "onnxruntime_onnx"
max_batch_size: {SPEC["max_batch_size"]}
input [
  {{
    name: "input"
    data_type: TYPE_FP32
    dims: [ {widths[0]} ]
  }}
]
output [
  {{
    name: "output"
    data_type: TYPE_FP32
    dims: [ {widths[-1]} ]
  }}
]
instance_group [
  {{
    count: 1
    kind: KIND_CPU
  }}
]
"""


def main():
    repository = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REPOSITORY)
    try:
        count = int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_COUNT
    except ValueError:
        sys.exit(f"COUNT '{sys.argv[2]}' is not a whole number; expected how many variants to write, e.g. 200")
    if count < 1:
        sys.exit(f"COUNT {count} is too small; expected 1 or more variants")
    written = skipped = 0
    size = 0
    for index in range(count):
        folder = os.path.join(repository, name_of(index))
        model_path = os.path.join(folder, "1", "model.onnx")
        config_path = os.path.join(folder, "config.pbtxt")
        config = config_text(index)
        if os.path.exists(model_path) and os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as f:
                if f.read() == config:
                    skipped += 1
                    size = os.path.getsize(model_path)
                    continue
        data = build_model(index).SerializeToString()
        size = len(data)
        # The model first, the config (which carries the stamp) last: an interrupted run regenerates.
        write_atomically(model_path, data, report=False)
        write_atomically(config_path, config.encode("utf-8"), report=False)
        written += 1
        if written % 20 == 0:
            print(f"  {written} written...", flush=True)
    print(f"{repository}: {count} variants of {size / 1e6:.2f} MB ({written} written, {skipped} up to date; spec {SPEC_STAMP})")


if __name__ == "__main__":
    main()
