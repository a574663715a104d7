"""Receipts on the node: capture (files kept durably in the data directory), the node's view
of every receipt of the household (what central broadcast), and their limits."""
