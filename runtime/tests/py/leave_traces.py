# Changes everything an execution can reach, then fails: a failed execution ends normally, so its instance is the
# kind that gets reused. `check_traces.py` must print the same before and after this runs.
import builtins, math, os, random, sys
import numpy, sympy

x = sympy.Symbol("x")
sympy.solve(x**3 - 7 * x + 1, x)  # fills sympy's caches
math.pi = 3
builtins.len = lambda _: -1
sys.path.insert(0, "/nowhere")
sys.setrecursionlimit(123)
os.environ["CIR_TRACE"] = "left"
sys.modules["cir_trace"] = type(sys)("cir_trace")
random.random()
numpy.random.random()
open("/tmp/trace", "w").write("left")
os.mkdir("/tmp/trace-dir")
kept_open = open("/tmp/trace-dir/open-handle", "w")
leftover = [bytearray(1 << 20) for _ in range(8)]
raise RuntimeError("left traces")
