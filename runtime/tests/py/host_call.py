import _host
print(_host.available())
_host.call(b'{"tool": "shell", "args": ["ls", "/"]}')
print("CALLED")
