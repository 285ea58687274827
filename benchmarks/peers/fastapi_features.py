#!/usr/bin/python3
"""The peer for issue 14's side-by-side run: the stack our users come from, FastAPI + uvicorn + redis-py.

One process looks the entity up in Redis, encodes it in Python, runs the model and answers, the way a
Feast-style online-serving app does. It reads what `feature-sidecar materialize` wrote (one hash per entity
at `income:{id}`, one field per raw feature as text, `_stored_at` in unix milliseconds), treats a value older
than the view's TTL as missing, encodes with `encode()` of models/generate.py (the encoding income was trained
with, which the feature view reproduces), and evaluates the same model.onnx with numpy. It answers the same
predict bodies as the server, so the same `loadtest --protocol rest-predict` drives both:

    GET  /v2/health/ready, /v2/models/income/ready, /v2/models/income (what the load generator reads first)
    POST /v2/models/income/predict    {"entity": {"id": "17"}} or {"record": {...}}
      -> {"model_name": "income", "model_version": "1",
          "outputs": {"prediction": ">50K", "probability": 0.87}, "server_latency_us": 812}

Run: /usr/bin/python3 benchmarks/peers/fastapi_features.py --model models/income/1/model.onnx \
         --redis redis://127.0.0.1:6379 --port 8101
Debian packages: python3-fastapi python3-uvicorn python3-redis python3-onnx python3-numpy.
"""
import argparse
import os
import sys
import time

import numpy as np
from fastapi import FastAPI, HTTPException, Request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))

import generate  # noqa: E402  (models/generate.py: income's training-time encode())
import fastapi_income  # noqa: E402  (the plain peer: the MLP in numpy, the v2 metadata)
from fastapi_income import load_mlp, run_mlp  # noqa: E402

MODEL_ENV = "PEER_MODEL_PATH"
REDIS_ENV = "PEER_REDIS_URL"
KEY_PATTERN = "income:{id}"
TTL_MS = 30 * 24 * 3600 * 1000  # income's view: ttl_seconds 2592000
THRESHOLD = 0.5
LABELS = ("<=50K", ">50K")
NUMBER_FIELDS = {name for name, _, _, _ in generate.NUMERIC}
FIELDS = [name for name, _, _, _ in generate.NUMERIC] + [field for field, _ in generate.ONE_HOT]

app = FastAPI()
MODEL = load_mlp(os.environ[MODEL_ENV]) if MODEL_ENV in os.environ else None
REDIS = None


@app.on_event("startup")
async def connect():
    global REDIS
    import redis.asyncio as redis
    REDIS = redis.from_url(os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379"), decode_responses=True)


# The same health, readiness and metadata answers as the plain peer's, which the load generator reads first.
app.get("/v2/health/ready")(fastapi_income.ready)
app.get("/v2/models/income/ready")(fastapi_income.model_ready)
app.get("/v2/models/income")(fastapi_income.metadata)


async def record_of(entity_id):
    """The entity's stored fields as a raw record, or None when it is missing or past the view's TTL."""
    stored = await REDIS.hgetall(KEY_PATTERN.format(id=entity_id))
    if not stored:
        return None
    if int(stored.get("_stored_at", "1")) < time.time() * 1000 - TTL_MS:
        return None
    return stored


def encodable(record):
    """The record with its numbers as numbers, or a 400 naming the field it lacks."""
    out = {}
    for field in FIELDS:
        if field not in record:
            if field in NUMBER_FIELDS:
                raise HTTPException(status_code=400, detail=f"the record has no '{field}'")
            continue
        out[field] = float(record[field]) if field in NUMBER_FIELDS else record[field]
    return out


@app.post("/v2/models/income/predict")
async def predict(request: Request):
    started = time.perf_counter_ns()
    body = await request.json()
    if "entity" in body:
        entity_id = str(body["entity"].get("id", ""))
        record = await record_of(entity_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"entity '{entity_id}' is not in the online store")
        record.update(body.get("record", {}))
    elif "record" in body:
        record = body["record"]
    else:
        raise HTTPException(status_code=400, detail="the body has neither 'entity' nor 'record'")
    features = generate.encode(encodable(record)).reshape(1, -1)
    probability = float(run_mlp(MODEL, features)[0, 0])
    return {
        "model_name": "income",
        "model_version": "1",
        "outputs": {"prediction": LABELS[probability >= THRESHOLD], "probability": probability},
        "server_latency_us": (time.perf_counter_ns() - started) // 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="path to income's model.onnx")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ[MODEL_ENV] = os.path.abspath(args.model)
    os.environ[REDIS_ENV] = args.redis
    import uvicorn
    uvicorn.run("fastapi_features:app", host=args.host, port=args.port, workers=args.workers,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
