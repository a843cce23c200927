# Creates, stats, lists, renames, links and reads files, printing every field: the output must be byte-identical on
# every run, in a fresh instance, a reused one or a new session, on any machine.
import os, time

def stat(path, follow=True):
    s = os.stat(path, follow_symlinks=follow)
    return (oct(s.st_mode), s.st_ino, s.st_dev, s.st_nlink, s.st_size, s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns,
            s.st_atime, s.st_mtime)

print("cwd", os.getcwd(), "time", time.time_ns())
print("tmp", stat("/tmp"))
print("stdlib", stat("/usr/local/lib"), stat("/usr/local/lib/python315.zip")[1:6])
for name in "c a b d e f g h".split():
    with open(name, "w") as f:
        f.write(name * 3)
os.mkdir("sub")
os.symlink("a", "link-to-a")
os.link("b", "hard-b")
print(os.listdir("."))
print([(e.name, e.inode(), e.is_dir(), e.is_file(), e.is_symlink()) for e in os.scandir(".")])
for name in ["a", "b", "sub", "link-to-a"]:
    print(name, stat(name), stat(name, follow=False))
os.rename("c", "sub/c")
os.utime("d", (1, 2))
os.utime("e", ns=(3_000_000_007, 4_000_000_009))
os.utime("f")
for name in ["sub", "sub/c", "d", "e", "f", "."]:
    print(name, stat(name))
with open("g", "r+") as f:
    f.seek(10)
    f.write("tail")
print(repr(open("g").read()), stat("g"))
print(sorted(os.walk(".")))
print("time", time.time_ns(), time.monotonic_ns())
