# Prints what `leave_traces.py` changes; the output depends only on the seed.
import builtins, math, os, random, sys
import numpy

print(math.pi, builtins.len([1]), sys.path[0], sys.getrecursionlimit(), os.environ.get("CIR_TRACE"))
print("cir_trace" in sys.modules, sorted(os.listdir("/tmp")), sorted(k for k in globals() if not k.startswith("__")))
print(random.random(), numpy.random.random())
probe = open("/tmp/probe", "w")
print(probe.fileno())
