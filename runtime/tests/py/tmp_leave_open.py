# Leaves files open, one with unflushed data, and a file in /tmp: a fresh or reused instance must see none of it.
import os

kept = [open(f"open{i}", "w") for i in range(5)]
kept[0].write("unflushed")
raw = os.open("raw", os.O_RDWR | os.O_CREAT)
os.write(raw, b"raw")
print(sorted(os.listdir(".")), raw)
