"""The kitchen node: a complete, edge-first kitchen inventory on one Raspberry Pi."""

__version__ = "0.1.0"
