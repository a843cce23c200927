from sympy import symbols, solve
x = symbols("x")
print(solve(x**2 - 5*x + 6, x))
