import subprocess
subprocess.run(["/bin/ls", "/"])
print("SPAWNED")
