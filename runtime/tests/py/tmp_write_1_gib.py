# One 1 GiB write: the host stores what fits in the quota and no more, and the next write is refused.
import errno, os

buffer = bytearray(1 << 30)
fd = os.open("huge", os.O_WRONLY | os.O_CREAT)
written = os.write(fd, buffer)
print("asked", len(buffer), "written", written, "size", os.fstat(fd).st_size)
try:
    os.write(fd, b"more")
except OSError as e:
    print("then:", errno.errorcode[e.errno])
