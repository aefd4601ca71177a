#!/usr/bin/env python3
"""Where a server's event loops spend their CPU, from an async-profiler collapsed-stack file.

    python3 bench/profile-split.py PROFILE.collapsed [THREAD_SUBSTRING]   (default: eventloop)

Each sample is charged to the library that owns it: the innermost frame that is not the JDK, the
JVM or the kernel (so HashMap.get called by Camel counts as Camel), with samples that end in the
kernel kept apart ("<library> in the kernel": the system calls that library made). Prints the
shares by library, then the classes of this project and of Camel that cost the most, so the
split "HTTP stack (Netty, Vert.x and their system calls) against the proxy's pipeline" can be read
off directly. bench/README.md explains how to record the file (bench/outside.sh with BENCH_PROFILE=1).
"""
import sys
from collections import Counter

LIBRARIES = [
    ("io/netty", "netty"), ("io/vertx", "vertx"), ("org/apache/camel", "camel"),
    ("com/fasterxml", "jackson"), ("org/camelopenaiproxy", "camel-openai-proxy"),
    ("io/micrometer", "micrometer"), ("io/prometheus", "micrometer"), ("com/github/benmanes", "caffeine"),
    ("io/github/resilience4j", "resilience4j"), ("io/github/bucket4j", "bucket4j"),
    ("java/", "jdk"), ("javax/", "jdk"), ("jdk/", "jdk"), ("sun/", "jdk"),
]
HTTP_STACK = {"netty", "vertx"}


def library(frame):
    for prefix, name in LIBRARIES:
        if frame.startswith(prefix):
            return name
    return "kernel" if frame.endswith("_[k]") else "jvm"


def main():
    path = sys.argv[1]
    thread = sys.argv[2] if len(sys.argv) > 2 else "eventloop"
    by_library, ours, camel = Counter(), Counter(), Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            if thread not in frames[0]:
                continue
            n = int(count)
            total += n
            frames = frames[1:]
            in_kernel = bool(frames) and library(frames[-1]) == "kernel"
            owner, owner_frame = "jvm", ""
            for frame in reversed(frames):
                lib = library(frame)
                if lib not in ("jdk", "jvm", "kernel"):
                    owner, owner_frame = lib, frame
                    break
            by_library[owner + (" in the kernel" if in_kernel else "")] += n
            if not in_kernel and owner == "camel-openai-proxy":
                ours[owner_frame.split(".")[0].rsplit("/", 1)[-1]] += n
            if not in_kernel and owner == "camel":
                camel[owner_frame.split(".")[0].rsplit("/", 1)[-1]] += n
    if not total:
        sys.exit(f"no samples on threads matching '{thread}' in {path}")
    pct = lambda n: f"{100.0 * n / total:5.1f} %"
    print(f"{total} samples on threads matching '{thread}'")
    kernel = sum(n for k, n in by_library.items() if k.endswith("in the kernel"))
    stack = sum(n for k, n in by_library.items() if k.split(" ")[0] in HTTP_STACK)
    print(f"  kernel (all system calls)           {pct(kernel)}")
    print(f"  HTTP stack: Netty + Vert.x, with their system calls {pct(stack)}")
    print(f"  everything else (the pipeline)      {pct(total - stack)}")
    print("by library (the JDK and JVM frames count for their caller):")
    for name, n in by_library.most_common():
        print(f"  {pct(n)}  {name}")
    for title, counter in (("camel-openai-proxy classes", ours), ("Camel classes", camel)):
        print(f"top {title} (user space):")
        for name, n in counter.most_common(12):
            print(f"  {pct(n)}  {name}")


if __name__ == "__main__":
    main()
