import os
os.system("touch /tmp/cir-os-system")
print("SPAWNED")
