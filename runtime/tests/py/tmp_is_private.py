import os
print(os.listdir("/tmp"))
open("/tmp/mark", "w").write("x")
print(os.listdir("/tmp"), open("/tmp/mark").read())
