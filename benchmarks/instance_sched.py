#!/usr/bin/python3
"""How the kernel treats a server's model instance thread (issue 12): what overload.sh reads around its phases.

  instance_sched.py snapshot PID
      one line: the instance thread's run time (ns), run-queue wait (ns) and times it was put on a CPU, from
      /proc/PID/task/TID/schedstat, and its nice value; the thread is the one whose name starts with "instance " or
      "batcher " (the scheduler names them so).
  instance_sched.py sample PID SECONDS
      every 5 ms, which of the server's threads are runnable (state R); prints the share of samples in which the
      instance thread was runnable, how many other threads were runnable beside it then (mean), and the names of those
      threads, most often seen first, with their nice values. Meant to run on the generator's core.
"""
import collections
import os
import sys
import time


def threads(pid):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        # After the name: state is field 3, nice field 19 (man 5 proc), i.e. rest[0] and rest[16].
        yield tid, name, rest[0], int(rest[16])


def is_instance(name):
    return name.startswith("instance ") or name.startswith("batcher ")


def snapshot(pid):
    for tid, name, _, nice in threads(pid):
        if is_instance(name):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, slices = f.read().split()
            print(run, wait, slices, nice)
            return
    print("0 0 0 0")


def sample(pid, seconds):
    until = time.monotonic() + seconds
    samples = instance_runnable = others_beside = 0
    names = collections.Counter()
    nices = {}
    while time.monotonic() < until:
        try:
            rows = list(threads(pid))
        except OSError:
            break
        samples += 1
        if any(is_instance(name) and state == "R" for _, name, state, _ in rows):
            instance_runnable += 1
            for _, name, state, nice in rows:
                if state == "R" and not is_instance(name):
                    others_beside += 1
                    names[name] += 1
                    nices[name] = nice
        time.sleep(0.005)
    share = instance_runnable / samples if samples else 0
    mean = others_beside / instance_runnable if instance_runnable else 0
    seen = ", ".join(f"{name} (nice {nices[name]}) {count}" for name, count in names.most_common(6)) or "none"
    print(f"{samples} samples; instance runnable in {100 * share:.0f}%; other threads runnable beside it: mean {mean:.2f}; seen: {seen}")


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        snapshot(int(sys.argv[2]))
    else:
        sample(int(sys.argv[2]), float(sys.argv[3]))
