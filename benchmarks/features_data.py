"""The online-feature benchmarks' data (features.sh, features-cpu.sh), written into WORK:
entities.csv, ENTITIES synthetic Adult-like rows for `feature-sidecar materialize`; and for the same 2,000 of them,
predict.jsonl (predict by key), record.jsonl (predict by raw record), infer.jsonl (plain infer with their 58 encoded
features) and bench-key.txt (one store key for `feature-sidecar bench`). Fixed seeds: every run gets the same data.

Usage (from the repository root): /usr/bin/python3 benchmarks/features_data.py WORK ENTITIES
"""
import csv
import json
import os
import sys

import numpy as np

work, n = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, "models")
import generate  # noqa: E402  (models/ is on the path only now)

records, _ = generate.synth_records(np.random.default_rng(14), n)
fields = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss", "workclass", "education",
          "marital_status", "occupation", "relationship", "sex"]
with open(os.path.join(work, "entities.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id"] + fields)
    for i, r in enumerate(records):
        w.writerow([i] + [int(r[k]) if isinstance(r[k], float) else r[k] for k in fields])
ids = np.random.default_rng(15).choice(n, size=min(n, 2000), replace=False)
with open(os.path.join(work, "predict.jsonl"), "w") as p, open(os.path.join(work, "infer.jsonl"), "w") as q, \
        open(os.path.join(work, "record.jsonl"), "w") as raw:
    for i in ids:
        p.write(json.dumps({"entity": {"id": str(i)}}) + "\n")
        record = {k: (float(v) if isinstance(v, float) else v) for k, v in records[i].items()}
        raw.write(json.dumps({"record": record}) + "\n")
        data = [float(x) for x in generate.encode(record)]
        q.write(json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, len(data)], "data": data}]}) + "\n")
with open(os.path.join(work, "bench-key.txt"), "w") as k:
    k.write(f"income:{ids[0]}")
