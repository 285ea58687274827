#!/usr/bin/python3
"""Write a labelled evaluation set for `income`, for the quantization accuracy gate.

Run with Debian's Python, which has the onnx and numpy packages (generate.py, imported here, needs both):

    /usr/bin/python3 models/generate_income_eval.py [FOLDER] [ROWS]

FOLDER defaults to models/income_int8, ROWS to 1000. It gets two files:

    eval.jsonl          ROWS held-out records, labelled: {"features": [58 numbers], "label": 1}
    calibration.jsonl   200 training records, unlabelled: {"features": [58 numbers]}

Each line is one synthetic record of the rule models/generate.py fitted `income` to, encoded as the model sees it;
the label is the rule's outcome. The evaluation records are the first ROWS of the 3,000 that generate.py holds out
(records 12,000 on of the 15,000 it draws with the seed of build_income): `income` never saw them while fitting, and
its accuracy on them is what generate.py prints. The calibration records (for int8-static) are the first 200 it
was fitted to, so that the gate does not judge a variant on the inputs that set its scales. Numbers are the float32 encoding written in its shortest form, so the model sees exactly the values it was
measured on. The output is deterministic: a rerun writes the same bytes.
"""

import json
import os
import sys

import numpy as np

# The income generator is a sibling script (this folder is first on sys.path when either runs).
import generate  # noqa: E402

HELD_OUT_FROM = 12000
DRAWN = 15000
SEED = 20240611  # build_income's seed in generate.py
CALIBRATION_ROWS = 200


def main():
    folder = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(generate.HERE, "income_int8"))
    try:
        rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    except ValueError:
        sys.exit(f"ROWS '{sys.argv[2]}' is not a whole number; expected how many records to write, e.g. 1000")
    if not 1 <= rows <= DRAWN - HELD_OUT_FROM:
        sys.exit(f"ROWS {rows} is out of range; expected 1 to {DRAWN - HELD_OUT_FROM} (the records generate.py holds out)")
    # The same draw as build_income: the records come before any training uses the generator.
    records, label = generate.synth_records(np.random.default_rng(SEED), DRAWN)
    held_out = slice(HELD_OUT_FROM, HELD_OUT_FROM + rows)
    write(os.path.join(folder, "eval.jsonl"), records[held_out], label[held_out])
    write(os.path.join(folder, "calibration.jsonl"), records[:CALIBRATION_ROWS], None)
    print(f"{folder}: eval.jsonl {rows} labelled records ({np.mean(label[held_out]):.3f} positive), "
          f"calibration.jsonl {CALIBRATION_ROWS} records")


def write(path, records, labels):
    lines = []
    for i, record in enumerate(records):
        # Shortest text that reads back as the same float32; one-hot zeros and ones as integers.
        values = [int(v) if v in (0, 1) else float(np.format_float_positional(v, unique=True, trim="-"))
                  for v in generate.encode(record)]
        row = {"features": values}
        if labels is not None:
            row["label"] = int(labels[i])
        lines.append(json.dumps(row, separators=(",", ":")))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
