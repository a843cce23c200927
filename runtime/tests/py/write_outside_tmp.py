import os
for path in ["/etc/cir-escape", "/cir-escape", "/usr/local/lib/cir-escape", "/tmp/../cir-escape"]:
    try:
        open(path, "w").write("x")
        print("WROTE", path)
    except OSError as e:
        print("refused", path, type(e).__name__)
