# 8 GiB in 256 MiB pieces (one 8 GiB object cannot even be asked for on wasm32, whose addresses are 32-bit).
chunks = []
for _ in range(32):
    chunks.append(bytearray(256 * 1024**2))
print(sum(map(len, chunks)))
