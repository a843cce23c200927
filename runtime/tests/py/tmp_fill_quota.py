# Writes 1 MiB chunks to /tmp until the byte quota stops it, then shows the execution goes on: the full file is
# exactly the quota, another file cannot grow, and removing the big file frees the space.
import errno, os

fd = os.open("big", os.O_WRONLY | os.O_CREAT)
chunk = b"x" * (1 << 20)
total = 0
try:
    while True:
        total += os.write(fd, chunk)
except OSError as e:
    print("stopped:", errno.errorcode[e.errno], e.strerror, "after", total)
print("size", os.fstat(fd).st_size)
os.close(fd)
try:
    with open("small", "wb") as f:
        f.write(b"y")
except OSError as e:
    print("small:", errno.errorcode[e.errno])
print(sorted(os.listdir(".")), os.path.getsize("small"))
os.remove("big")
with open("small", "wb") as f:
    f.write(b"z" * 1000)
print("after removing big:", os.path.getsize("small"))
