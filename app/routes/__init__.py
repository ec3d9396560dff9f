"""HTTP routes, one module per area; each stays thin and calls one service function."""
