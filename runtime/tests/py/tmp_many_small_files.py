# Creates empty files until the entry quota stops it; the execution goes on, and removing one makes room.
import errno, os

made = 0
try:
    while True:
        open(f"f{made:05}", "w").close()
        made += 1
except OSError as e:
    print("stopped:", errno.errorcode[e.errno], e.strerror, "after", made)
names = os.listdir(".")
print(len(names), names[:3], names[-1], names == sorted(names))
for kind, make in [("folder", lambda: os.mkdir("d")), ("symlink", lambda: os.symlink("f00000", "l")),
                   ("link", lambda: os.link("f00000", "h"))]:
    try:
        make()
    except OSError as e:
        print(kind, errno.errorcode[e.errno])
os.remove("f00000")
os.mkdir("d")
print("after removing one:", len(os.listdir(".")), os.path.isdir("d"))
