import os
pid = os.fork()
print("FORKED", pid)
