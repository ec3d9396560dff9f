"""Webcare's conversation engine: understanding, decisions and channel rules, free of web code."""
