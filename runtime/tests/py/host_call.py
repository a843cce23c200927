import _reactor
names = [n for n in dir(_reactor) if not n.startswith("__")]
print(names)
