"""Accounts and access: users with roles, bearer tokens, login rate limits, and the route guard."""
