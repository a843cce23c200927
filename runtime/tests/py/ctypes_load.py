import ctypes
libc = ctypes.CDLL(None)
print("LOADED", libc)
