# Seeking past the end: the gap reads as zeros and counts against the quota; a position past the quota cannot be
# written; reading past the end returns nothing.
import errno, os

fd = os.open("sparse", os.O_RDWR | os.O_CREAT)
os.lseek(fd, 1 << 20, os.SEEK_SET)
os.write(fd, b"x")
print("size", os.fstat(fd).st_size, "tell", os.lseek(fd, 0, os.SEEK_CUR))
print("gap", os.pread(fd, 4, 1000) == bytes(4), "end", os.pread(fd, 4, (1 << 20) + 1), os.pread(fd, 1, 1 << 40))
os.lseek(fd, 1 << 40, os.SEEK_SET)
try:
    os.write(fd, b"y")
except OSError as e:
    print("write at 1 TiB:", errno.errorcode[e.errno])
try:
    os.lseek(fd, -1, os.SEEK_SET)
except OSError as e:
    print("negative seek:", errno.errorcode[e.errno])
print("end", os.lseek(fd, 0, os.SEEK_END), "size", os.fstat(fd).st_size)
with open("append", "a") as f:
    f.write("one")
with open("append", "a") as f:
    f.write("two")
print(open("append").read())
