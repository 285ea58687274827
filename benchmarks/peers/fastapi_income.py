#!/usr/bin/python3
"""The peer for the side-by-side comparison: the usual FastAPI + uvicorn model server.

It serves the `income` MLP with the same weights as our server (read from the same model.onnx
with python3-onnx and evaluated with numpy), speaking the KServe v2 JSON protocol on the same
paths, so the same load generator drives both:

    GET  /v2/health/ready, /v2/models/income/ready
    GET  /v2/models/income            (metadata, so the harness can generate inputs)
    POST /v2/models/income/infer      (JSON tensors)

Run: /usr/bin/python3 benchmarks/peers/fastapi_income.py --model models/income/1/model.onnx \
         --port 8100 --workers 2
Debian packages: python3-fastapi python3-uvicorn python3-onnx python3-numpy.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from fastapi import FastAPI, HTTPException, Request

MODEL_ENV = "PEER_MODEL_PATH"


def load_mlp(path):
    """The graph as a list of numpy steps; only the operators an MLP uses (Gemm, MatMul, Add, Relu, Sigmoid)."""
    graph = onnx.load(path).graph
    weights = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in graph.initializer}
    steps = []
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        steps.append((node.op_type, list(node.input), node.output[0], attrs))
    return graph.input[0].name, graph.output[0].name, weights, steps


def run_mlp(model, features):
    input_name, output_name, weights, steps = model
    values = {input_name: features}

    def get(name):
        return values[name] if name in values else weights[name]

    for op, inputs, output, attrs in steps:
        if op == "Gemm":
            a, b = get(inputs[0]), get(inputs[1])
            a = a.T if attrs.get("transA", 0) else a
            b = b.T if attrs.get("transB", 0) else b
            y = attrs.get("alpha", 1.0) * (a @ b)
            if len(inputs) > 2:
                y = y + attrs.get("beta", 1.0) * get(inputs[2])
        elif op == "MatMul":
            y = get(inputs[0]) @ get(inputs[1])
        elif op == "Add":
            y = get(inputs[0]) + get(inputs[1])
        elif op == "Relu":
            y = np.maximum(get(inputs[0]), 0)
        elif op == "Sigmoid":
            y = 1.0 / (1.0 + np.exp(-get(inputs[0])))
        else:
            raise ValueError(f"operator {op} is not supported by this peer")
        values[output] = y.astype(np.float32)
    return values[output_name]


app = FastAPI()
MODEL = load_mlp(os.environ[MODEL_ENV]) if MODEL_ENV in os.environ else None


@app.get("/v2/health/ready")
def ready():
    return {}


@app.get("/v2/models/income/ready")
def model_ready():
    return {}


@app.get("/v2/models/income")
def metadata():
    return {
        "name": "income",
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 58]}],
        "outputs": [{"name": "probability", "datatype": "FP32", "shape": [-1, 1]}],
    }


@app.post("/v2/models/income/infer")
async def infer(request: Request):
    body = await request.json()
    try:
        tensor = body["inputs"][0]
        features = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise HTTPException(status_code=400, detail=f"bad request: {e}")
    probability = run_mlp(MODEL, features)
    return {
        "model_name": "income",
        "model_version": "1",
        "id": body.get("id", ""),
        "outputs": [{
            "name": "probability",
            "datatype": "FP32",
            "shape": list(probability.shape),
            "data": probability.reshape(-1).tolist(),
        }],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="path to income's model.onnx")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ[MODEL_ENV] = os.path.abspath(args.model)
    import uvicorn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("fastapi_income:app", host=args.host, port=args.port, workers=args.workers,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
