# POSIX semantics of names and sizes: rename over a file and into a folder, a folder into itself, unlink of an open
# file, hard links, symlinks inside and out of /tmp, truncation in both directions.
import errno, os

def attempt(what, f):
    try:
        f()
        print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])

open("a", "w").write("aaa")
open("b", "w").write("bbbbbb")
os.rename("a", "b")
print("renamed over:", sorted(os.listdir(".")), open("b").read())
os.makedirs("x/y")
attempt("folder into itself", lambda: os.rename("x", "x/y/z"))
attempt("folder over a file", lambda: os.rename("x", "b"))
attempt("file over a folder", lambda: os.rename("b", "x"))
attempt("over a non-empty folder", lambda: os.rename("x/y", "x"))
os.rename("b", "x/y/b")
print("moved:", os.listdir("x/y"), os.stat("x").st_nlink, os.stat("x/y").st_nlink)

f = open("x/y/b", "r")
os.unlink("x/y/b")
print("unlinked but open:", f.read(), os.fstat(f.fileno()).st_nlink, os.path.exists("x/y/b"))
f.close()

open("t", "w").write("0123456789")
os.link("t", "t2")
print("hard link:", os.stat("t").st_nlink, os.stat("t").st_ino == os.stat("t2").st_ino)
os.truncate("t", 4)
print("shrunk:", repr(open("t2").read()), os.path.getsize("t2"))
os.truncate("t", 8)
print("grown:", repr(open("t").read()))
os.unlink("t")
print("one name left:", os.stat("t2").st_nlink)

os.symlink("x/y", "ln")
print("symlink:", os.readlink("ln"), os.path.islink("ln"), os.listdir("ln"), os.lstat("ln").st_size)
os.symlink("loop", "loop")
attempt("symlink loop", lambda: open("loop"))
attempt("absolute symlink", lambda: os.symlink("/etc/passwd", "abs"))
os.symlink("../../etc/passwd", "up")
attempt("symlink out of /tmp", lambda: open("up"))
attempt("dot-dot out of /tmp", lambda: open("../etc/passwd"))
attempt("rmdir non-empty", lambda: os.rmdir("x"))
attempt("unlink a folder", lambda: os.unlink("x"))
attempt("write to the stdlib", lambda: open("/usr/local/lib/new", "w"))
attempt("name too long", lambda: open("n" * 256, "w"))
print(sorted(os.listdir(".")))
