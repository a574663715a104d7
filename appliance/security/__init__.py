"""Tokens, pairing and the household TLS certificates."""
