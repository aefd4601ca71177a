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


JDK = ("java/", "jdk/", "sun/")


def library(type_name):
    """org/apache/camel/x/Y -> org.apache.camel; io/netty/x/Y -> io.netty (the first two or three parts)."""
    parts = type_name.replace(".", "/").split("/")  # hidden (lambda) classes use dots
    keep = 3 if parts[0] in ("org", "com") and len(parts) > 3 else 2
    return ".".join(parts[:keep])


def main():
    recording, patterns = sys.argv[1], sys.argv[2:]
    jfr = os.environ.get("JFR") or (os.path.join(os.environ["JAVA_HOME"], "bin", "jfr")
                                    if os.environ.get("JAVA_HOME") else shutil.which("jfr"))
    out = subprocess.run([jfr, "print", "--json", "--stack-depth", "256", "--events", "jdk.ExecutionSample", recording],
                         capture_output=True, text=True, check=True).stdout
    own, inclusive, libraries, samples = collections.Counter(), collections.Counter(), collections.Counter(), 0
    for event in json.loads(out)["recording"]["events"]:
        trace = event["values"]["stackTrace"]
        if not trace or not trace["frames"]:
            continue
        samples += 1
        names = [f["method"]["type"]["name"].split("/")[-1] + "." + f["method"]["name"] for f in trace["frames"]]
        own[names[0]] += 1
        types = [f["method"]["type"]["name"] for f in trace["frames"]]
        libraries[next((library(t) for t in types if not t.startswith(JDK)), "jdk")] += 1
        for p in patterns:
            if any(p in n for n in names):
                inclusive[p] += 1
    print(f"{samples} samples")
    print("top self frames:")
    for name, n in own.most_common(15):
        print(f"  {100 * n / samples:5.1f}%  {name}")
    print("self, by the library of the first frame outside the JDK (a HashMap.get called by Camel is Camel's):")
    for name, n in libraries.most_common(10):
        print(f"  {100 * n / samples:5.1f}%  {name}")
    if patterns:
        print("inclusive:")
        for p in patterns:
            print(f"  {100 * inclusive[p] / samples:5.1f}%  {p}")


if __name__ == "__main__":
    main()
