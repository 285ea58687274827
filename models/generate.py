#!/usr/bin/python3
"""Generate the sample model repository under models/.

Run with Debian's Python, which has the onnx and numpy packages:

    /usr/bin/python3 models/generate.py

Every output is deterministic: fixed random seeds, fixed producer
name/version, fixed opset and IR version, and no timestamps. Running the
script twice produces byte-identical files on the same machine (the income
and income_gbt models are trained with floating-point arithmetic, so a
different CPU or BLAS build could in principle round differently; the
committed files are the reference).

Written files, for each model M:
    models/M/config.pbtxt
    models/M/1/model.onnx
plus models/income/features.pbtxt (income's feature view), models/income/example_records.json and
models/income/example_request.json.
models/income_ab/routing.pbtxt (a route, not a model) is written by hand.
"""

import json
import os
import sys

# Single-threaded BLAS keeps the floating-point reduction order fixed.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

try:
    import numpy as np
except ImportError:
    sys.exit("generate.py needs numpy: install the Debian package python3-numpy "
             "(apt-get install python3-numpy) and run with /usr/bin/python3")
try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    sys.exit("generate.py needs onnx: install the Debian package python3-onnx "
             "(apt-get install python3-onnx) and run with /usr/bin/python3")

HERE = os.path.dirname(os.path.abspath(__file__))

PRODUCER_NAME = "InferenceServer models/generate.py"
PRODUCER_VERSION = "1"
OPSET = 17      # ONNX Runtime 1.30 supports far newer; 17 keeps older tools happy
IR_VERSION = 8  # the IR version that goes with opset 17
ML_OPSET = 3    # ai.onnx.ml (TreeEnsembleRegressor), the version that goes with opset 17


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def make_model(graph, doc, ml=False):
    opsets = [helper.make_opsetid("", OPSET)]
    if ml:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    model = helper.make_model(
        graph,
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        opset_imports=opsets,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    onnx.checker.check_model(model, full_check=True)
    return model


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print("wrote", os.path.relpath(path, os.path.dirname(HERE)))


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def save_model(name, model):
    write_bytes(os.path.join(HERE, name, "1", "model.onnx"), model.SerializeToString())


def config_pbtxt(name, comment, max_batch_size, inputs, outputs):
    """Triton protobuf text format. inputs/outputs: lists of (name, type, dims)."""
    lines = [f"# {line}\n" for line in comment]
    lines.append(f"name: \"{name}\"\n")
    lines.append("platform: \"onnxruntime_onnx\"\n")
    lines.append(f"max_batch_size: {max_batch_size}\n")
    for kind, tensors in (("input", inputs), ("output", outputs)):
        entries = []
        for tname, ttype, dims in tensors:
            entries.append("  {\n"
                           f"    name: \"{tname}\"\n"
                           f"    data_type: {ttype}\n"
                           f"    dims: [ {', '.join(str(d) for d in dims)} ]\n"
                           "  }")
        lines.append(f"{kind} [\n" + ",\n".join(entries) + "\n]\n")
    lines.append("instance_group [\n"
                 "  {\n"
                 "    count: 1\n"
                 "    kind: KIND_CPU\n"
                 "  }\n"
                 "]\n")
    return "".join(lines)


def save_config(name, text):
    write_text(os.path.join(HERE, name, "config.pbtxt"), text)


# --------------------------------------------------------------------------
# (a) simple: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1 (INT32)
# --------------------------------------------------------------------------

def build_simple():
    shape = ["batch", 16]
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"], name="add"),
            helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"], name="sub"),
        ],
        "simple",
        [helper.make_tensor_value_info("INPUT0", TensorProto.INT32, shape),
         helper.make_tensor_value_info("INPUT1", TensorProto.INT32, shape)],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.INT32, shape),
         helper.make_tensor_value_info("OUTPUT1", TensorProto.INT32, shape)],
    )
    save_model("simple", make_model(graph, "Element-wise sum and difference of two INT32 [batch,16] tensors."))
    save_config("simple", config_pbtxt(
        "simple",
        ["simple: element-wise OUTPUT0 = INPUT0 + INPUT1 and OUTPUT1 = INPUT0 - INPUT1 (INT32, 16 values per batch row)."],
        8,
        [("INPUT0", "TYPE_INT32", [16]), ("INPUT1", "TYPE_INT32", [16])],
        [("OUTPUT0", "TYPE_INT32", [16]), ("OUTPUT1", "TYPE_INT32", [16])],
    ))


# --------------------------------------------------------------------------
# (b) income: MLP binary classifier over an encoded Adult-style record
# --------------------------------------------------------------------------

# Numeric features: (name, transform, mean, std). "log1p_standardize" means
# (log(1 + x) - mean) / std; "standardize" means (x - mean) / std. The constants
# are round numbers close to the UCI Adult training-set statistics.
NUMERIC = [
    ("age", "standardize", 38.6, 13.6),
    ("education_num", "standardize", 10.1, 2.6),
    ("hours_per_week", "standardize", 40.4, 12.3),
    ("capital_gain", "log1p_standardize", 0.74, 2.45),
    ("capital_loss", "log1p_standardize", 0.35, 1.6),
]

# One-hot groups: (field, [(category, sampling weight)]). Weights are rough
# Adult frequencies, used only to draw the synthetic training data.
WORKCLASS = [("Private", 70), ("Self-emp-not-inc", 8), ("Self-emp-inc", 3.5), ("Federal-gov", 3),
             ("Local-gov", 6.5), ("State-gov", 4), ("Without-pay", 0.3), ("Never-worked", 0.2)]
# (category, weight, education_num)
EDUCATION = [("Preschool", 0.2, 1), ("1st-4th", 0.5, 2), ("5th-6th", 1.0, 3), ("7th-8th", 2.0, 4),
             ("9th", 1.6, 5), ("10th", 2.9, 6), ("11th", 3.6, 7), ("12th", 1.3, 8),
             ("HS-grad", 32.3, 9), ("Some-college", 22.4, 10), ("Assoc-voc", 4.2, 11),
             ("Assoc-acdm", 3.3, 12), ("Bachelors", 16.4, 13), ("Masters", 5.3, 14),
             ("Prof-school", 1.8, 15), ("Doctorate", 1.3, 16)]
MARITAL = [("Married-civ-spouse", 46), ("Never-married", 33), ("Divorced", 13.6), ("Separated", 3.1),
           ("Widowed", 3.0), ("Married-spouse-absent", 1.3), ("Married-AF-spouse", 0.1)]
OCCUPATION = [("Prof-specialty", 13), ("Craft-repair", 13), ("Exec-managerial", 13), ("Adm-clerical", 12),
              ("Sales", 11), ("Other-service", 10), ("Machine-op-inspct", 6), ("Transport-moving", 5),
              ("Handlers-cleaners", 4), ("Farming-fishing", 3), ("Tech-support", 3), ("Protective-serv", 2),
              ("Priv-house-serv", 0.5), ("Armed-Forces", 0.1)]
RELATIONSHIP = ["Husband", "Wife", "Own-child", "Not-in-family", "Other-relative", "Unmarried"]
SEX = ["Female", "Male"]

ONE_HOT = [
    ("workclass", [c for c, _ in WORKCLASS]),
    ("education", [c for c, _, _ in EDUCATION]),
    ("marital_status", [c for c, _ in MARITAL]),
    ("occupation", [c for c, _ in OCCUPATION]),
    ("relationship", RELATIONSHIP),
    ("sex", SEX),
]


def feature_layout():
    """The encoded feature vector, index by index."""
    feats = []
    for name, transform, mean, std in NUMERIC:
        feats.append({"index": len(feats), "name": name, "kind": "numeric", "source": name,
                      "transform": transform, "mean": mean, "std": std})
    for field, cats in ONE_HOT:
        for cat in cats:
            feats.append({"index": len(feats), "name": f"{field}={cat}", "kind": "one_hot",
                          "source": field, "category": cat})
    return feats


FEATURES = feature_layout()
N_FEATURES = len(FEATURES)


def encode(record):
    """Encode one raw record (dict of field -> value) as the float32 feature vector."""
    vec = np.zeros(N_FEATURES, dtype=np.float64)
    for f in FEATURES:
        if f["kind"] == "numeric":
            x = float(record[f["source"]])
            if f["transform"] == "log1p_standardize":
                x = np.log1p(x)
            vec[f["index"]] = (x - f["mean"]) / f["std"]
        elif record.get(f["source"]) == f["category"]:
            vec[f["index"]] = 1.0
    return vec.astype(np.float32)


def pbtxt_number(x):
    """A float as the shortest text that reads back as the same double (Python's repr)."""
    return repr(float(x))


def pbtxt_strings(values):
    return "[ " + ", ".join(json.dumps(v) for v in values) + " ]"


def features_pbtxt():
    """income's feature view (features.pbtxt): encode() written as a declaration the server, the feature sidecar and
    the batch scorer read, so the model's encoding has one source of truth. Reproduces encode() exactly: the same
    transforms in the same order, computed in double precision and rounded to float32 once."""
    lines = [
        "# income's feature view: how a UCI-Adult-style record becomes the 58 FP32 values of the model's input",
        "# 'features'. Written by models/generate.py from the encoding the model was trained with; the schema, with",
        "# every field's meaning and default, is server/InferenceServer.Core/Features/Protos/features.proto.",
        "version: 1",
        "",
        "# A request names an entity by 'id' (or gives its raw fields); the online store holds one hash per entity.",
        'entity_key: "id"',
        "store {",
        '  key_pattern: "income:{id}"',
        "  ttl_seconds: 2592000  # 30 days",
        "  timeout_ms: 100  # a lookup normally takes well under 1 ms; this bounds a store that stalls",
        "  on_failure: UNAVAILABLE",
        "}",
    ]
    for name, transform, mean, std in NUMERIC:
        lines += ["", "feature {", f'  name: "{name}"', "  kind: NUMBER"]
        if transform == "log1p_standardize":
            lines.append("  transform { log1p {} }")
        lines.append(f"  transform {{ standardize {{ mean: {pbtxt_number(mean)} std: {pbtxt_number(std)} }} }}")
        lines.append("}")
    for field, cats in ONE_HOT:
        lines += ["", "feature {", f'  name: "{field}"', "  kind: TEXT",
                  f"  transform {{ one_hot {{ value: {pbtxt_strings(cats)} }} }}",
                  "  # The data set's unknown: outside the vocabulary, so the whole group is 0, as for any other",
                  "  # value the vocabulary does not know.",
                  '  default_text: "?"',
                  "}"]
    columns = [name for name, _, _, _ in NUMERIC] + [field for field, _ in ONE_HOT]
    lines += [
        "",
        "output {",
        '  name: "features"',
        '  datatype: "FP32"',
        f"  column: {pbtxt_strings(columns)}",
        "}",
        "",
        "prediction {",
        '  output: "probability"',
        "  threshold: 0.5",
        '  label: [ "<=50K", ">50K" ]',
        "}",
    ]
    return "\n".join(lines) + "\n"


def synth_records(rng, n):
    """Draw n synthetic Adult-like records and their labels from a fixed rule."""
    def pick(cats, weights, size):
        w = np.asarray(weights, dtype=np.float64)
        return rng.choice(len(cats), size=size, p=w / w.sum())

    age = np.clip(rng.normal(38.5, 13.5, n), 17, 90).round()
    edu = pick(EDUCATION, [w for _, w, _ in EDUCATION], n)
    edu_num = np.array([EDUCATION[i][2] for i in edu], dtype=np.float64)
    sex = (rng.random(n) < 0.67).astype(int)  # 1 = Male
    wc = pick(WORKCLASS, [w for _, w in WORKCLASS], n)

    # Occupation leans on education: professional/managerial jobs are far
    # likelier with a degree, manual/service jobs likelier without one.
    occ_names = [c for c, _ in OCCUPATION]
    base = np.array([w for _, w in OCCUPATION], dtype=np.float64)
    skilled = np.isin(occ_names, ["Prof-specialty", "Exec-managerial", "Tech-support"])
    manual = np.isin(occ_names, ["Handlers-cleaners", "Other-service", "Machine-op-inspct",
                                 "Farming-fishing", "Priv-house-serv", "Craft-repair", "Transport-moving"])
    occ = np.empty(n, dtype=int)
    for i in range(n):
        tilt = (edu_num[i] - 10.0) / 3.0
        w = base * np.exp(np.where(skilled, 1.2 * tilt, 0.0) + np.where(manual, -0.8 * tilt, 0.0))
        occ[i] = rng.choice(len(occ_names), p=w / w.sum())

    # Marital status leans on age: the young are mostly never married.
    mar_names = [c for c, _ in MARITAL]
    mar_base = np.array([w for _, w in MARITAL], dtype=np.float64)
    mar = np.empty(n, dtype=int)
    for i in range(n):
        w = mar_base.copy()
        young = np.clip((35.0 - age[i]) / 12.0, -1.5, 1.5)
        w[mar_names.index("Never-married")] *= np.exp(1.8 * young)
        w[mar_names.index("Widowed")] *= np.exp(-1.5 * young)
        mar[i] = rng.choice(len(mar_names), p=w / w.sum())

    # Relationship follows from marital status, sex and age.
    rel = np.empty(n, dtype=object)
    for i in range(n):
        m = mar_names[mar[i]]
        if m in ("Married-civ-spouse", "Married-AF-spouse"):
            rel[i] = "Husband" if sex[i] == 1 else "Wife"
        elif m == "Never-married" and age[i] < 26 and rng.random() < 0.6:
            rel[i] = "Own-child"
        else:
            rel[i] = RELATIONSHIP[3 + rng.choice(3, p=[0.6, 0.1, 0.3])]

    wc_names = [c for c, _ in WORKCLASS]
    hours = rng.normal(40.0, 11.0, n)
    hours += np.where(np.isin(np.array(wc_names)[wc], ["Self-emp-inc", "Self-emp-not-inc"]), 5.0, 0.0)
    hours += np.where(np.array(occ_names)[occ] == "Exec-managerial", 4.0, 0.0)
    hours -= np.where(age < 22, 12.0, 0.0) + np.where(age > 65, 15.0, 0.0)
    hours -= np.where(sex == 0, 4.0, 0.0)
    hours = np.clip(hours, 1, 99).round()

    # Capital gains/losses: rare, heavier-tailed with education and age.
    p_gain = 0.05 + 0.03 * (edu_num > 12) + 0.03 * (age > 45)
    has_gain = rng.random(n) < p_gain
    gain = np.where(has_gain, np.exp(rng.normal(8.3, 1.0, n)), 0.0).round()
    gain = np.minimum(gain, 99999)
    has_loss = (rng.random(n) < 0.045) & ~has_gain
    loss = np.where(has_loss, np.clip(rng.normal(1850, 350, n), 150, 4356), 0.0).round()

    # The label rule: a logit built from the real data set's well-known
    # correlations (married couples, education, managerial/professional work,
    # mid-career age, long hours and capital gains raise the odds), then a
    # Bernoulli draw. About a quarter of records come out positive.
    occ_effect = {"Exec-managerial": 0.9, "Prof-specialty": 0.8, "Tech-support": 0.5, "Protective-serv": 0.4,
                  "Sales": 0.3, "Craft-repair": 0.0, "Transport-moving": -0.1, "Adm-clerical": -0.1,
                  "Machine-op-inspct": -0.3, "Farming-fishing": -0.8, "Handlers-cleaners": -0.8,
                  "Armed-Forces": 0.0, "Other-service": -1.1, "Priv-house-serv": -1.8}
    wc_effect = {"Self-emp-inc": 0.6, "Federal-gov": 0.5, "Local-gov": 0.0, "State-gov": -0.1, "Private": 0.0,
                 "Self-emp-not-inc": -0.3, "Without-pay": -3.0, "Never-worked": -3.0}
    married = np.isin(np.array(mar_names)[mar], ["Married-civ-spouse", "Married-AF-spouse"])
    logit = (-3.2
             + 2.0 * married
             + 0.38 * (edu_num - 10.0)
             + 0.045 * (age - 38.0) - 0.0011 * (age - 38.0) ** 2 * (age > 38)
             - 1.2 * (age < 24)
             + 0.035 * (hours - 40.0)
             + np.array([occ_effect[occ_names[o]] for o in occ])
             + np.array([wc_effect[wc_names[w]] for w in wc])
             + np.where(gain >= 5000, 3.5, np.where(gain > 0, 0.4, 0.0))
             + np.where(loss >= 1800, 1.0, np.where(loss > 0, 0.2, 0.0))
             + 0.3 * sex)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float64)

    records = []
    for i in range(n):
        records.append({
            "age": age[i], "education_num": edu_num[i], "hours_per_week": hours[i],
            "capital_gain": gain[i], "capital_loss": loss[i],
            "workclass": wc_names[wc[i]], "education": EDUCATION[edu[i]][0],
            "marital_status": mar_names[mar[i]], "occupation": occ_names[occ[i]],
            "relationship": rel[i], "sex": SEX[sex[i]],
        })
    return records, label


def train_mlp(x, y, rng, sizes=(64, 32), epochs=150, lr=0.01, l2=1e-2):
    """Full-batch Adam on mean binary cross-entropy plus l2 * |W|^2 / 2 on the weight matrices;
    returns float32 parameters [W1, b1, W2, b2, W3, b3]."""
    dims = [x.shape[1], *sizes, 1]
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        params.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
        params.append(np.zeros(fan_out))
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    y = y.reshape(-1, 1)
    n = x.shape[0]
    for step in range(1, epochs + 1):
        # forward
        acts = [x]
        h = x
        for li in range(len(dims) - 1):
            z = h @ params[2 * li] + params[2 * li + 1]
            h = np.maximum(z, 0.0) if li < len(dims) - 2 else z
            acts.append(h)
        p = 1.0 / (1.0 + np.exp(-acts[-1]))
        # backward
        grads = [None] * len(params)
        g = (p - y) / n
        for li in reversed(range(len(dims) - 1)):
            grads[2 * li] = acts[li].T @ g + l2 * params[2 * li]
            grads[2 * li + 1] = g.sum(axis=0)
            if li > 0:
                g = (g @ params[2 * li].T) * (acts[li] > 0)
        for k in range(len(params)):
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            params[k] -= lr * (m[k] / (1 - b1 ** step)) / (np.sqrt(v[k] / (1 - b2 ** step)) + eps)
        if step % 50 == 0 or step == 1:
            loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
            acc = np.mean((p > 0.5) == (y > 0.5))
            print(f"  income training step {step}: loss {loss:.4f}, accuracy {acc:.3f}")
    return [p.astype(np.float32) for p in params]


def mlp_forward(x, params):
    h = x.astype(np.float32)
    n_layers = len(params) // 2
    for li in range(n_layers):
        h = h @ params[2 * li] + params[2 * li + 1]
        if li < n_layers - 1:
            h = np.maximum(h, 0.0)
    return 1.0 / (1.0 + np.exp(-h))


EXAMPLE_RECORDS = [
    {"age": 52, "education_num": 14, "hours_per_week": 50, "capital_gain": 15024, "capital_loss": 0,
     "workclass": "Self-emp-inc", "education": "Masters", "marital_status": "Married-civ-spouse",
     "occupation": "Exec-managerial", "relationship": "Husband", "sex": "Male"},
    {"age": 23, "education_num": 9, "hours_per_week": 30, "capital_gain": 0, "capital_loss": 0,
     "workclass": "Private", "education": "HS-grad", "marital_status": "Never-married",
     "occupation": "Other-service", "relationship": "Own-child", "sex": "Female"},
]


def build_income():
    rng = np.random.default_rng(20240611)
    records, label = synth_records(rng, 15000)
    x = np.stack([encode(r) for r in records]).astype(np.float64)
    n_train = 12000
    print(f"  income: {N_FEATURES} features, {len(records)} synthetic records "
          f"({n_train} to fit, the rest held out), positive rate {label.mean():.3f}")
    params = train_mlp(x[:n_train], label[:n_train], rng)
    ex = np.stack([encode(r) for r in EXAMPLE_RECORDS])
    probs = mlp_forward(ex, params)[:, 0]
    q = mlp_forward(x[n_train:], params)[:, 0].astype(np.float64)
    y = label[n_train:]
    print(f"  income held-out: accuracy {np.mean((q > 0.5) == (y > 0.5)):.3f}, "
          f"log loss {-np.mean(y * np.log(q + 1e-12) + (1 - y) * np.log(1 - q + 1e-12)):.4f}")

    w1, b1, w2, b2, w3, b3 = params
    inits = [numpy_helper.from_array(a, name) for a, name in
             [(w1, "fc1.weight"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias"),
              (w3, "fc3.weight"), (b3, "fc3.bias")]]
    nodes = [
        helper.make_node("Gemm", ["features", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1"),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["fc2"], name="fc2"),
        helper.make_node("Relu", ["fc2"], ["relu2"], name="relu2"),
        helper.make_node("Gemm", ["relu2", "fc3.weight", "fc3.bias"], ["logit"], name="fc3"),
        helper.make_node("Sigmoid", ["logit"], ["probability"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes, "income",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", N_FEATURES])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        initializer=inits,
    )
    save_model("income", make_model(
        graph, f"P(income > 50K) from a {N_FEATURES}-float encoded record; see features.pbtxt."))
    save_config("income", config_pbtxt(
        "income",
        [f"income: MLP ({N_FEATURES}->64->32->1, ReLU, Sigmoid) giving P(income > 50K) for an Adult-style record.",
         "The input is the encoded feature vector its feature view features.pbtxt (same folder) declares."],
        256,
        [("features", "TYPE_FP32", [N_FEATURES])],
        [("probability", "TYPE_FP32", [1])],
    ))

    write_text(os.path.join(HERE, "income", "features.pbtxt"), features_pbtxt())
    # The raw records whose encodings make up example_request.json, with the probability the model gives them
    # (rounded): what a test of the feature view, or any other encoder, checks itself against.
    examples = [{"record": {k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in r.items()},
                 "probability": round(float(pr), 4)}
                for r, pr in zip(EXAMPLE_RECORDS, probs)]
    write_text(os.path.join(HERE, "income", "example_records.json"), json.dumps(examples, indent=2) + "\n")
    request = {
        "inputs": [{
            "name": "features",
            "datatype": "FP32",
            "shape": [len(EXAMPLE_RECORDS), N_FEATURES],
            # float32 -> shortest decimal that round-trips, so clients send exactly these values
            "data": [float(np.format_float_positional(v, unique=True, trim="0")) for v in ex.ravel()],
        }],
        "outputs": [{"name": "probability"}],
    }
    write_text(os.path.join(HERE, "income", "example_request.json"), json.dumps(request) + "\n")
    for r, pr in zip(EXAMPLE_RECORDS, probs):
        print(f"  income example ({r['age']}, {r['education']}, {r['occupation']}): p = {pr:.4f}")

    # A few sanity checks on what the fitted model learnt.
    base = dict(EXAMPLE_RECORDS[1])
    older = dict(base, age=45, marital_status="Married-civ-spouse", relationship="Wife")
    p_base, p_older = mlp_forward(np.stack([encode(base), encode(older)]), params)[:, 0]
    assert probs[0] > 0.8 and probs[1] < 0.1, probs
    assert p_older > p_base, (p_base, p_older)
    # The same records and split serve income_gbt, so the two models' held-out accuracies compare like for like.
    return x, label, n_train, q


# --------------------------------------------------------------------------
# (b2) income_gbt: gradient-boosted trees over the same records as income
# --------------------------------------------------------------------------

GBT_TREES = 50
GBT_DEPTH = 3
GBT_LEARNING_RATE = 0.3
GBT_L2 = 1.0          # lambda on the leaf values (second-order boosting, as XGBoost does)
GBT_MIN_HESSIAN = 5.0  # a leaf needs this much sum of p(1 - p): about 20-50 records
GBT_MAX_BINS = 32


def gbt_thresholds(x):
    """Per feature, the candidate split thresholds and each record's bin in them.

    Thresholds are float32 values taken from the data (at most GBT_MAX_BINS - 1 quantiles), and a split at
    threshold k sends a record left exactly when x <= t[k], which is the same as bin <= k. ONNX Runtime compares
    the float32 input with the float32 threshold in BRANCH_LEQ mode, so the exported trees decide exactly as the
    trained ones did."""
    n, n_features = x.shape
    thresholds = []
    bins = np.empty((n, n_features), dtype=np.int64)
    for f in range(n_features):
        column = x[:, f].astype(np.float32)
        ordered = np.sort(column)
        picks = ordered[(np.arange(1, GBT_MAX_BINS) * n) // GBT_MAX_BINS]
        t = np.unique(picks)
        t = t[t < ordered[-1]]  # a split at the largest value would send every record left
        thresholds.append(t)
        bins[:, f] = np.searchsorted(t, column, side="left")
    return thresholds, bins


def gbt_grow(bins, thresholds, g, h):
    """One depth-limited tree fitted to gradients g and hessians h, breadth first.

    Returns its nodes in breadth-first order: ("split", feature, threshold, left, right) or ("leaf", value),
    with leaf values already scaled by the learning rate and rounded to float32 as the ONNX model stores them."""
    n_features = bins.shape[1]
    width = GBT_MAX_BINS + 1
    offsets = bins + np.arange(n_features) * width  # one bincount covers every feature's histogram
    valid = np.zeros((n_features, width), dtype=bool)
    for f, t in enumerate(thresholds):
        valid[f, :len(t)] = True
    nodes = [None]
    queue = [(0, np.arange(bins.shape[0]), 0)]
    while queue:
        node, rows, depth = queue.pop(0)
        g_sum, h_sum = g[rows].sum(), h[rows].sum()
        split = None
        if depth < GBT_DEPTH and h_sum >= 2 * GBT_MIN_HESSIAN:
            flat = offsets[rows].ravel()
            g_left = np.bincount(flat, weights=np.repeat(g[rows], n_features), minlength=n_features * width)
            h_left = np.bincount(flat, weights=np.repeat(h[rows], n_features), minlength=n_features * width)
            g_left = np.cumsum(g_left.reshape(n_features, width), axis=1)
            h_left = np.cumsum(h_left.reshape(n_features, width), axis=1)
            g_right, h_right = g_sum - g_left, h_sum - h_left
            gain = (g_left ** 2 / (h_left + GBT_L2) + g_right ** 2 / (h_right + GBT_L2)
                    - g_sum ** 2 / (h_sum + GBT_L2))
            gain[~valid | (h_left < GBT_MIN_HESSIAN) | (h_right < GBT_MIN_HESSIAN)] = -np.inf
            best = int(np.argmax(gain))  # the first of equal gains: deterministic
            if gain.flat[best] > 1e-9:
                split = divmod(best, width)
        if split is None:
            value = np.float32(-GBT_LEARNING_RATE * g_sum / (h_sum + GBT_L2))
            nodes[node] = ("leaf", value)
            continue
        f, k = split
        left = len(nodes)
        nodes += [None, None]
        nodes[node] = ("split", f, thresholds[f][k], left, left + 1)
        goes_left = bins[rows, f] <= k
        queue.append((left, rows[goes_left], depth + 1))
        queue.append((left + 1, rows[~goes_left], depth + 1))
    return nodes


def gbt_tree_predict(nodes, x):
    """The tree's leaf value for each row of x (float32), comparing as ONNX Runtime does."""
    feature = np.array([n[1] if n[0] == "split" else 0 for n in nodes])
    threshold = np.array([n[2] if n[0] == "split" else 0 for n in nodes], dtype=np.float32)
    left = np.array([n[3] if n[0] == "split" else i for i, n in enumerate(nodes)])
    right = np.array([n[4] if n[0] == "split" else i for i, n in enumerate(nodes)])
    value = np.array([n[1] if n[0] == "leaf" else 0 for n in nodes], dtype=np.float32)
    at = np.zeros(x.shape[0], dtype=np.int64)
    rows = np.arange(x.shape[0])
    for _ in range(GBT_DEPTH):
        at = np.where(x[rows, feature[at]] <= threshold[at], left[at], right[at])
    return value[at].astype(np.float64)


def gbt_predict(trees, base, x):
    logit = np.full(x.shape[0], float(base))
    for nodes in trees:
        logit += gbt_tree_predict(nodes, x)
    return 1.0 / (1.0 + np.exp(-logit))


def train_gbt(x, y):
    """Gradient boosting on logistic loss (Newton steps: leaf = -sum g / (sum h + lambda)); no sampling, so no
    randomness. Returns (base logit, trees)."""
    x32 = x.astype(np.float32)
    thresholds, bins = gbt_thresholds(x32)
    rate = y.mean()
    base = np.float32(np.log(rate / (1.0 - rate)))
    logit = np.full(x.shape[0], float(base))
    trees = []
    for t in range(1, GBT_TREES + 1):
        p = 1.0 / (1.0 + np.exp(-logit))
        nodes = gbt_grow(bins, thresholds, p - y, p * (1.0 - p))
        trees.append(nodes)
        logit += gbt_tree_predict(nodes, x32)
        if t % 10 == 0 or t == 1:
            p = 1.0 / (1.0 + np.exp(-logit))
            loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
            print(f"  income_gbt tree {t}: loss {loss:.4f}, accuracy {np.mean((p > 0.5) == (y > 0.5)):.3f}")
    return base, trees


def build_income_gbt(x, label, n_train, mlp_held_out):
    """Fits and writes income_gbt; mlp_held_out is income's probabilities for the same held-out records."""
    base, trees = train_gbt(x[:n_train], label[:n_train])
    x32 = x.astype(np.float32)
    q = gbt_predict(trees, base, x32[n_train:])
    y = label[n_train:]
    accuracy = np.mean((q > 0.5) == (y > 0.5))
    mlp_accuracy = np.mean((mlp_held_out > 0.5) == (y > 0.5))
    print(f"  income_gbt held-out: accuracy {accuracy:.3f}, "
          f"log loss {-np.mean(y * np.log(q + 1e-12) + (1 - y) * np.log(1 - q + 1e-12)):.4f} "
          f"(income, the MLP: accuracy {mlp_accuracy:.3f}); "
          f"the two agree on {np.mean((q > 0.5) == (mlp_held_out > 0.5)):.3f} of the held-out records")

    attrs = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                             "nodes_truenodeids", "nodes_falsenodeids", "target_treeids", "target_nodeids",
                             "target_ids", "target_weights")}
    splits = 0
    for tree_id, nodes in enumerate(trees):
        for node_id, node in enumerate(nodes):
            attrs["nodes_treeids"].append(tree_id)
            attrs["nodes_nodeids"].append(node_id)
            if node[0] == "split":
                splits += 1
                _, f, threshold, left, right = node
                attrs["nodes_featureids"].append(int(f))
                attrs["nodes_values"].append(float(threshold))
                attrs["nodes_modes"].append("BRANCH_LEQ")
                attrs["nodes_truenodeids"].append(left)
                attrs["nodes_falsenodeids"].append(right)
            else:
                attrs["nodes_featureids"].append(0)
                attrs["nodes_values"].append(0.0)
                attrs["nodes_modes"].append("LEAF")
                attrs["nodes_truenodeids"].append(0)
                attrs["nodes_falsenodeids"].append(0)
                attrs["target_treeids"].append(tree_id)
                attrs["target_nodeids"].append(node_id)
                attrs["target_ids"].append(0)
                attrs["target_weights"].append(float(node[1]))
    nodes = [
        helper.make_node("TreeEnsembleRegressor", ["features"], ["logit"], name="trees", domain="ai.onnx.ml",
                         n_targets=1, aggregate_function="SUM", post_transform="NONE", base_values=[float(base)],
                         **attrs),
        helper.make_node("Sigmoid", ["logit"], ["probability"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes, "income_gbt",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", N_FEATURES])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
    )
    save_model("income_gbt", make_model(
        graph, f"P(income > 50K) from a {N_FEATURES}-float encoded record (income's encoding, see "
               f"income/features.pbtxt): {len(trees)} gradient-boosted trees of depth <= {GBT_DEPTH}.", ml=True))
    save_config("income_gbt", config_pbtxt(
        "income_gbt",
        [f"income_gbt: {len(trees)} gradient-boosted trees (depth <= {GBT_DEPTH}, {splits} splits, ai.onnx.ml "
         "TreeEnsembleRegressor, then Sigmoid) giving P(income > 50K).",
         "Same input, output and max_batch_size as income, fitted to the same records, so a route can A/B the two;",
         "the input is the encoded feature vector income/features.pbtxt declares."],
        256,
        [("features", "TYPE_FP32", [N_FEATURES])],
        [("probability", "TYPE_FP32", [1])],
    ))
    ex = np.stack([encode(r) for r in EXAMPLE_RECORDS])
    probs = gbt_predict(trees, base, ex)
    for r, pr in zip(EXAMPLE_RECORDS, probs):
        print(f"  income_gbt example ({r['age']}, {r['education']}, {r['occupation']}): p = {pr:.4f}")
    assert probs[0] > 0.7 and probs[1] < 0.1, probs
    assert accuracy > mlp_accuracy - 0.02, (accuracy, mlp_accuracy)


# --------------------------------------------------------------------------
# (c) text_upper: BYTES in, upper-cased BYTES out, plus an Identity copy
# --------------------------------------------------------------------------

def build_text_upper():
    # StringNormalizer only takes [C] or [1, C]; with max_batch_size 0 the
    # request shape is passed through unchanged, so the model takes [C].
    # The locale must exist on the serving machine: ONNX Runtime's default
    # (en_US.UTF-8) fails to load where that locale is not installed, while
    # C.UTF-8 is built into glibc 2.35+ and upper-cases non-ASCII letters too.
    nodes = [
        helper.make_node("StringNormalizer", ["TEXT"], ["UPPER"], name="upper",
                         case_change_action="UPPER", locale="C.UTF-8"),
        helper.make_node("Identity", ["TEXT"], ["SAME"], name="same"),
    ]
    graph = helper.make_graph(
        nodes, "text_upper",
        [helper.make_tensor_value_info("TEXT", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("UPPER", TensorProto.STRING, ["n"]),
         helper.make_tensor_value_info("SAME", TensorProto.STRING, ["n"])],
    )
    save_model("text_upper", make_model(graph, "Upper-cases each string of a 1-D string tensor; SAME echoes the input."))
    save_config("text_upper", config_pbtxt(
        "text_upper",
        ["text_upper: UPPER = each UTF-8 string of TEXT upper-cased (StringNormalizer); SAME = TEXT unchanged.",
         "No batch dimension: TEXT is a 1-D list of one or more strings."],
        0,
        [("TEXT", "TYPE_STRING", [-1])],
        [("UPPER", "TYPE_STRING", [-1]), ("SAME", "TYPE_STRING", [-1])],
    ))


# --------------------------------------------------------------------------
# (d) half_scale: FP16 in/out, Y = X * 2 + 1 computed in FP32
# --------------------------------------------------------------------------

def build_half_scale():
    shape = ["batch", 4]
    inits = [numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"),
             numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")]
    nodes = [
        helper.make_node("Cast", ["X"], ["x32"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x32", "two"], ["scaled"], name="mul"),
        helper.make_node("Add", ["scaled", "one"], ["y32"], name="add"),
        helper.make_node("Cast", ["y32"], ["Y"], name="to_half", to=TensorProto.FLOAT16),
    ]
    graph = helper.make_graph(
        nodes, "half_scale",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT16, shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT16, shape)],
        initializer=inits,
    )
    save_model("half_scale", make_model(graph, "Y = X * 2 + 1 on FP16 tensors, computed in FP32."))
    save_config("half_scale", config_pbtxt(
        "half_scale",
        ["half_scale: Y = X * 2 + 1 for FP16 X of 4 values per batch row (cast to FP32, compute, cast back)."],
        16,
        [("X", "TYPE_FP16", [4])],
        [("Y", "TYPE_FP16", [4])],
    ))


def main():
    print(f"onnx {onnx.__version__}, numpy {np.__version__}; opset {OPSET}, IR version {IR_VERSION}")
    build_simple()
    build_income_gbt(*build_income())
    build_text_upper()
    build_half_scale()


if __name__ == "__main__":
    main()
