#!/usr/bin/env python3
"""Top frames of a JFR recording's execution samples (bench/README.md, 'Profile under load').

    python3 bench/jfr-top.py recording.jfr [pattern ...]

Prints the top self frames, and for each pattern the share of samples with a frame whose
Class.method contains it (inclusive). Uses `jfr` from $JFR, else $JAVA_HOME/bin/jfr, else the PATH.
"""
import collections
import json
import os
import shutil
import subprocess
import sys


def main():
    recording, patterns = sys.argv[1], sys.argv[2:]
    jfr = os.environ.get("JFR") or (os.path.join(os.environ["JAVA_HOME"], "bin", "jfr")
                                    if os.environ.get("JAVA_HOME") else shutil.which("jfr"))
    out = subprocess.run([jfr, "print", "--json", "--events", "jdk.ExecutionSample", recording],
                         capture_output=True, text=True, check=True).stdout
    own, inclusive, samples = collections.Counter(), collections.Counter(), 0
    for event in json.loads(out)["recording"]["events"]:
        trace = event["values"]["stackTrace"]
        if not trace or not trace["frames"]:
            continue
        samples += 1
        names = [f["method"]["type"]["name"].split("/")[-1] + "." + f["method"]["name"] for f in trace["frames"]]
        own[names[0]] += 1
        for p in patterns:
            if any(p in n for n in names):
                inclusive[p] += 1
    print(f"{samples} samples")
    print("top self frames:")
    for name, n in own.most_common(15):
        print(f"  {100 * n / samples:5.1f}%  {name}")
    if patterns:
        print("inclusive:")
        for p in patterns:
            print(f"  {100 * inclusive[p] / samples:5.1f}%  {p}")


if __name__ == "__main__":
    main()
