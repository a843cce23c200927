import time
t0, m0 = time.time(), time.monotonic()
time.sleep(3)
print(round(time.time() - t0), round(time.monotonic() - m0))
