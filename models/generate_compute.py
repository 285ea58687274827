#!/usr/bin/python3
"""Generate the compute-bound sample: a small transformer encoder classifier, as ONNX and as TorchScript.

Run with Debian's Python, which has the torch (1.13), onnx and numpy packages, with OpenBLAS installed
(apt-get install python3-torch python3-onnx libopenblas0-pthread; see OPENBLAS below for why):

    /usr/bin/python3 models/generate_compute.py [REPOSITORY]

REPOSITORY defaults to benchmarks/.compute-repository (ignored by git). The weights are 12.7 MB, too large to commit,
so the model is generated on demand (benchmarks/quantization.sh calls this script). Written files:

    REPOSITORY/encoder/config.pbtxt          ONNX Runtime (platform onnxruntime_onnx), input `tokens`, output `logits`
    REPOSITORY/encoder/1/model.onnx          the FP32 network, opset 17, dynamic batch dimension
    REPOSITORY/encoder_torchscript/config.pbtxt   the same network for the TorchScript backend (pytorch_libtorch),
    REPOSITORY/encoder_torchscript/1/model.pt     input INPUT__0, output OUTPUT__0 (Triton's naming), same weights
    REPOSITORY/encoder.eval.jsonl            1,000 labelled held-out sequences, for the accuracy gate
    REPOSITORY/encoder.calibration.jsonl     200 unlabelled training sequences, for int8-static calibration
    REPOSITORY/encoder.request.json          one v2 REST request (batch 1) for a smoke test

The network: each of 64 tokens is a vector of 16 FP32 features; a linear embedding to d_model 256 plus a learned
position embedding; 4 post-norm encoder layers (4 heads of 64, plain MatMul attention with softmax, FFN 256 -> 1024
-> 256 with ReLU, LayerNorm after each residual); the mean over the tokens; a linear layer to 10 class logits. About
3.2 million parameters, 0.8 M multiply-adds per token and layer, so a batch is dominated by MatMul on weights: the
operator int8 quantization speeds up.

The task is synthetic, so that the decisions have margins (agreement measured on an untrained network's near-tied
logits would measure noise): each class c has a prototype vector P_c; a sequence of class c is standard normal noise
with P_c added at 8 random positions. The network is trained for 200 Adam steps of 16 sequences (two to four minutes on
two busy cores) and reaches about 90% accuracy on held-out sequences, with wide margins (median top-1 margin about 6
logits, under 0.1 for about 1 sequence in 1,000); the script prints the figures. Inputs in the JSONL files are flat
lists of 64 x 16 numbers (token-major), the layout the batch scorer and the accuracy gate read for an input of shape
[64, 16]; `label` is the class.

Determinism: fixed seeds, so a rerun on the same machine writes the same weights; a different
CPU may round differently during training. A rerun skips the work when every file exists and config.pbtxt carries the
same spec stamp.
"""

import hashlib
import json
import math
import os
import sys
import time

# Debian's torch calls BLAS through libblas.so.3, which is the reference BLAS unless another is chosen: 1.3 GFLOPS on
# the machine this was written on, against 36 with OpenBLAS, which turns a minute of training into half an hour. With
# libopenblas0-pthread installed, the script runs itself again with OpenBLAS first on the library path: only this
# process changes, not the system's choice (numpy in the other generators keeps rounding as before).
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
if os.path.isdir(OPENBLAS) and OPENBLAS not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
    os.environ["LD_LIBRARY_PATH"] = ":".join(filter(None, [OPENBLAS, os.environ.get("LD_LIBRARY_PATH")]))
    # torch's own threads split the work; OpenBLAS threads under them would only oversubscribe the cores.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.execv(sys.executable, [sys.executable] + sys.argv)

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError:
    sys.exit("generate_compute.py needs torch and numpy: install the Debian packages python3-torch and python3-numpy "
             "(apt-get install python3-torch python3-numpy) and run with /usr/bin/python3")
try:
    import onnx
except ImportError:
    sys.exit("generate_compute.py needs onnx: install the Debian package python3-onnx "
             "(apt-get install python3-onnx) and run with /usr/bin/python3")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_REPOSITORY = os.path.join(ROOT, "benchmarks", ".compute-repository")

OPSET = 17

# Everything that decides the files' bytes. Change any of it and a rerun regenerates.
SPEC = {
    "layout": "post-norm-encoder-meanpool",
    "tokens": 64,
    "features": 16,
    "d_model": 256,
    "heads": 4,
    "ffn": 1024,
    "layers": 4,
    "classes": 10,
    "motif_positions": 8,
    "motif_scale": 1.0,
    "seed": 20261205,
    "train_steps": 200,
    "train_batch": 16,
    "learning_rate": 1e-3,
    "eval_rows": 1000,
    "calibration_rows": 200,
    "max_batch_size": 64,
    "opset": OPSET,
    "version": 1,
}
SPEC_STAMP = hashlib.sha256(json.dumps(SPEC, sort_keys=True).encode()).hexdigest()[:16]


class Attention(nn.Module):
    """Multi-head self-attention written out (Linear, MatMul, Softmax), so the ONNX graph has plain MatMuls on weights."""

    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        mixed = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.out(mixed.transpose(1, 2).reshape(b, t, d))


class EncoderLayer(nn.Module):
    def __init__(self, d_model, heads, ffn):
        super().__init__()
        self.attention = Attention(d_model, heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, ffn), nn.ReLU(), nn.Linear(ffn, d_model))
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x):
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.ffn(x))


class Encoder(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.embed = nn.Linear(spec["features"], spec["d_model"])
        self.position = nn.Parameter(torch.randn(spec["tokens"], spec["d_model"]) * 0.02)
        self.layers = nn.ModuleList(EncoderLayer(spec["d_model"], spec["heads"], spec["ffn"]) for _ in range(spec["layers"]))
        self.head = nn.Linear(spec["d_model"], spec["classes"])

    def forward(self, tokens):
        x = self.embed(tokens) + self.position
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean(dim=1))


def draw(rng, prototypes, n):
    """n sequences and their classes: noise, with the class prototype added at a few random positions."""
    tokens, features = SPEC["tokens"], SPEC["features"]
    labels = rng.integers(0, SPEC["classes"], n)
    x = rng.standard_normal((n, tokens, features)).astype(np.float32)
    for i in range(n):
        positions = rng.choice(tokens, SPEC["motif_positions"], replace=False)
        x[i, positions] += np.float32(SPEC["motif_scale"]) * prototypes[labels[i]]
    return x, labels


def train(model, prototypes, rng):
    optimizer = torch.optim.Adam(model.parameters(), lr=SPEC["learning_rate"])
    loss_fn = nn.CrossEntropyLoss()
    started = time.monotonic()
    model.train()
    for step in range(1, SPEC["train_steps"] + 1):
        x, y = draw(rng, prototypes, SPEC["train_batch"])
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 20 == 0:
            print(f"  step {step}: loss {loss.item():.4f} ({time.monotonic() - started:.0f} s)", flush=True)
    model.eval()


def write_atomically(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)


def jsonl(x, labels=None):
    lines = []
    for i in range(len(x)):
        # Four decimals are enough for standard-normal features and keep the file a third the size.
        row = {"tokens": [round(float(v), 4) for v in x[i].reshape(-1)]}
        if labels is not None:
            row["label"] = int(labels[i])
        lines.append(json.dumps(row, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8")


def encoder_config(comment, name, platform, input_name, output_name):
    """The config of one copy of the encoder: the ONNX and TorchScript copies differ in name, platform and tensor names."""
    return f"""{comment}
name: "{name}"
platform: "{platform}"
max_batch_size: {SPEC["max_batch_size"]}
input [
  {{
    name: "{input_name}"
    data_type: TYPE_FP32
    dims: [ {SPEC["tokens"]}, {SPEC["features"]} ]
  }}
]
output [
  {{
    name: "{output_name}"
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


def onnx_config():
    return encoder_config(
        "# encoder: a transformer encoder classifier (4 layers, d_model 256), written by models/generate_compute.py\n"
        f"# for benchmarks/quantization.sh, the compute-bound sample of quantization. spec: {SPEC_STAMP}",
        "encoder", "onnxruntime_onnx", "tokens", "logits")


def torchscript_config():
    return encoder_config(
        "# encoder_torchscript: the encoder sample's network as TorchScript (the same weights as encoder/1/model.onnx),\n"
        f"# written by models/generate_compute.py for the TorchScript-against-ONNX-Runtime comparison. spec: {SPEC_STAMP}",
        "encoder_torchscript", "pytorch_libtorch", "INPUT__0", "OUTPUT__0")


def main():
    repository = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REPOSITORY)
    paths = {
        "onnx": os.path.join(repository, "encoder", "1", "model.onnx"),
        "onnx_config": os.path.join(repository, "encoder", "config.pbtxt"),
        "pt": os.path.join(repository, "encoder_torchscript", "1", "model.pt"),
        "pt_config": os.path.join(repository, "encoder_torchscript", "config.pbtxt"),
        "eval": os.path.join(repository, "encoder.eval.jsonl"),
        "calibration": os.path.join(repository, "encoder.calibration.jsonl"),
        "request": os.path.join(repository, "encoder.request.json"),
    }
    if all(os.path.exists(p) for p in paths.values()):
        with open(paths["onnx_config"], encoding="utf-8") as f:
            if f.read() == onnx_config():
                print(f"{repository}: encoder up to date (spec {SPEC_STAMP})")
                return

    print(f"torch {torch.__version__}, onnx {onnx.__version__}; spec {SPEC_STAMP}", flush=True)
    torch.manual_seed(SPEC["seed"])
    torch.set_num_threads(1)
    rng = np.random.default_rng(SPEC["seed"])
    prototypes = rng.standard_normal((SPEC["classes"], SPEC["features"])).astype(np.float32)
    model = Encoder(SPEC)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"  encoder: {parameters:,} parameters; training {SPEC['train_steps']} steps of {SPEC['train_batch']}", flush=True)
    train(model, prototypes, rng)

    eval_x, eval_y = draw(rng, prototypes, SPEC["eval_rows"])
    calibration_x, _ = draw(rng, prototypes, SPEC["calibration_rows"])
    with torch.no_grad():
        logits = model(torch.from_numpy(eval_x)).numpy()
    top2 = np.sort(logits, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    print(f"  held-out accuracy {np.mean(logits.argmax(1) == eval_y):.4f}; top-1 margin median {np.median(margin):.2f}, "
          f"5th percentile {np.percentile(margin, 5):.2f}, under 0.1: {np.mean(margin < 0.1):.4f}")

    example = torch.from_numpy(eval_x[:2])
    os.makedirs(os.path.dirname(paths["onnx"]), exist_ok=True)
    temporary = paths["onnx"] + ".tmp"
    torch.onnx.export(model, example, temporary, opset_version=OPSET, input_names=["tokens"], output_names=["logits"],
                      dynamic_axes={"tokens": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    exported = onnx.load(temporary)
    exported.producer_name = "InferenceServer models/generate_compute.py"
    exported.producer_version = "1"
    exported.model_version = 1
    onnx.checker.check_model(exported, full_check=True)
    operators = {}
    for node in exported.graph.node:
        operators[node.op_type] = operators.get(node.op_type, 0) + 1
    print("  ONNX operators: " + ", ".join(f"{k} {v}" for k, v in sorted(operators.items())))
    onnx.save(exported, temporary)
    os.replace(temporary, paths["onnx"])

    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        # The trace must agree with the module on another batch size: the batch dimension stays symbolic.
        check = torch.from_numpy(eval_x[:5])
        difference = (traced(check) - model(check)).abs().max().item()
    if difference > 1e-5:
        sys.exit(f"the TorchScript trace differs from the module by {difference} on a batch of 5; expected the same outputs")
    os.makedirs(os.path.dirname(paths["pt"]), exist_ok=True)
    traced.save(paths["pt"] + ".tmp")
    os.replace(paths["pt"] + ".tmp", paths["pt"])

    write_atomically(paths["eval"], jsonl(eval_x, eval_y))
    write_atomically(paths["calibration"], jsonl(calibration_x))
    request = {"inputs": [{"name": "tokens", "datatype": "FP32", "shape": [1, SPEC["tokens"], SPEC["features"]],
                           "data": [round(float(v), 4) for v in eval_x[0].reshape(-1)]}],
               "outputs": [{"name": "logits"}]}
    write_atomically(paths["request"], json.dumps(request).encode("utf-8"))
    write_atomically(paths["pt_config"], torchscript_config().encode("utf-8"))
    # The ONNX config last: it carries the stamp, so an interrupted run regenerates.
    write_atomically(paths["onnx_config"], onnx_config().encode("utf-8"))
    print(f"{repository}: encoder {os.path.getsize(paths['onnx']) / 1e6:.1f} MB (ONNX), "
          f"{os.path.getsize(paths['pt']) / 1e6:.1f} MB (TorchScript); request 0 is class {eval_y[0]}, logits "
          f"{np.array2string(logits[0], precision=3)}")


if __name__ == "__main__":
    main()
