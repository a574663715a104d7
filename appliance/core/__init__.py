"""Pure domain rules shared by node and central: no I/O, no clocks, no globals.

Everything in here is a function of its arguments, so the node (SQLite) and central
(PostgreSQL) fold the same events into the same state.
"""
