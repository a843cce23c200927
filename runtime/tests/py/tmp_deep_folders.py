# Nests folders until a limit stops it (the path length, 4096 bytes), then walks and removes the whole tree.
import errno, os, shutil

depth = 0
path = "deep"
os.mkdir(path)
try:
    while True:
        path += "/d"
        os.mkdir(path)
        depth += 1
except OSError as e:
    print("stopped:", errno.errorcode[e.errno], "at depth", depth, "path length", len(path))
walked = sum(1 for _ in os.walk("deep"))
print("walked", walked, "folders")
print("nlink of deep", os.stat("deep").st_nlink, "of the deepest", os.stat(path.rsplit("/", 1)[0]).st_nlink)
shutil.rmtree("deep")
print(os.listdir("."))
