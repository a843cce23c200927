import os, random, time, numpy
print(time.time(), time.monotonic(), time.perf_counter())
print(random.random(), random.randint(0, 10**9))
print(numpy.random.rand(), numpy.random.default_rng().integers(0, 10**9))
print(hash("a"), hash(b"b"), hash((1, "c")))
print(os.urandom(8).hex())
print(sorted({"x", "y", "z", "w"}), list({"k": 1, "j": 2}))
