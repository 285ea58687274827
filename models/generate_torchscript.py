#!/usr/bin/python3
"""Generate the TorchScript samples: the same small network as TorchScript and as ONNX, and a model per datatype.

Run with Debian's Python and its PyTorch (apt-get install python3-torch, 1.13):

    /usr/bin/python3 models/generate_torchscript.py

Written files (all small; they are committed, so neither the tests nor CI need PyTorch):
    models/tiny_mlp_torch/config.pbtxt, models/tiny_mlp_torch/1/model.pt   (TorchScript, platform pytorch_libtorch)
    models/tiny_mlp/config.pbtxt, models/tiny_mlp/1/model.onnx             (the same weights exported to ONNX)
    tests/fixtures/torchscript/all_types.pt     (one input and one output per datatype TorchScript has)
    tests/fixtures/torchscript/two_outputs.pt   (forward(a, b) -> (a + b, a - b), FP32)
    tests/fixtures/torchscript/returns_string.pt  (forward(x) -> a string, which no tensor protocol can carry)

tiny_mlp is 4 -> 16 -> ReLU -> 3 -> softmax with fixed weights (seed 17), so the test that compares the two backends
compares the same network. The TorchScript files are zip archives: running the script again writes the same entries
with the same contents, though the archive's bytes may differ; the ONNX file is byte-identical.
"""

import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TinyMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(4, 16)
        self.out = torch.nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.out(torch.relu(self.hidden(x))), dim=1)


class AllTypes(torch.nn.Module):
    """OUTPUT__i = INPUT__i + 1 for every numeric type (logical not for BOOL), so a test sees the model ran."""

    def forward(self, b: torch.Tensor, u8: torch.Tensor, i8: torch.Tensor, i16: torch.Tensor, i32: torch.Tensor,
                i64: torch.Tensor, f16: torch.Tensor, bf16: torch.Tensor, f32: torch.Tensor, f64: torch.Tensor):
        return (torch.logical_not(b), u8 + 1, i8 + 1, i16 + 1, i32 + 1, i64 + 1, f16 + 1, bf16 + 1, f32 + 1, f64 + 1)


class TwoOutputs(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor):
        return a + b, a - b


class ReturnsString(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> str:
        return "not a tensor"


MLP_CONFIG = """# tiny_mlp_torch: the TorchScript copy of tiny_mlp (4 features -> 3 class probabilities), served by LibTorch.
# TorchScript does not declare its tensors' shapes or types, so the config lists them; INPUT__0 is forward()'s
# first argument and OUTPUT__0 its first result (Triton's naming convention).
name: "tiny_mlp_torch"
platform: "pytorch_libtorch"
max_batch_size: 32
input [
  {
    name: "INPUT__0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
]
output [
  {
    name: "OUTPUT__0"
    data_type: TYPE_FP32
    dims: [ 3 ]
  }
]
dynamic_batching { }
instance_group [
  {
    count: 1
    kind: KIND_CPU
  }
]
"""

ONNX_CONFIG = """# tiny_mlp: 4 features -> 3 class probabilities; the ONNX copy of tiny_mlp_torch (same weights), served by ONNX Runtime.
name: "tiny_mlp"
platform: "onnxruntime_onnx"
max_batch_size: 32
input [
  {
    name: "INPUT__0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
]
output [
  {
    name: "OUTPUT__0"
    data_type: TYPE_FP32
    dims: [ 3 ]
  }
]
dynamic_batching { }
instance_group [
  {
    count: 1
    kind: KIND_CPU
  }
]
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def save_script(module, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.jit.save(torch.jit.script(module.eval()), path)


def main():
    torch.manual_seed(17)
    mlp = TinyMlp().eval()
    save_script(mlp, os.path.join(ROOT, "models/tiny_mlp_torch/1/model.pt"))
    write(os.path.join(ROOT, "models/tiny_mlp_torch/config.pbtxt"), MLP_CONFIG)
    onnx_path = os.path.join(ROOT, "models/tiny_mlp/1/model.onnx")
    os.makedirs(os.path.dirname(onnx_path), exist_ok=True)
    torch.onnx.export(mlp, torch.zeros(1, 4), onnx_path, input_names=["INPUT__0"], output_names=["OUTPUT__0"],
                      dynamic_axes={"INPUT__0": {0: "batch"}, "OUTPUT__0": {0: "batch"}}, opset_version=13)
    write(os.path.join(ROOT, "models/tiny_mlp/config.pbtxt"), ONNX_CONFIG)

    fixtures = os.path.join(ROOT, "tests/fixtures/torchscript")
    save_script(AllTypes(), os.path.join(fixtures, "all_types.pt"))
    save_script(TwoOutputs(), os.path.join(fixtures, "two_outputs.pt"))
    save_script(ReturnsString(), os.path.join(fixtures, "returns_string.pt"))

    # What PyTorch itself answers for a fixed input, for the reader to compare with the server's answer (README).
    with torch.no_grad():
        print("tiny_mlp([[1, 2, 3, 4]]) =", mlp(torch.tensor([[1.0, 2.0, 3.0, 4.0]])).tolist(), file=sys.stderr)


if __name__ == "__main__":
    main()
