x = bytearray(8 * 1024**3)
print(len(x))
