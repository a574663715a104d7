"""Hardware adapters of the scan box: one module per device, each with a fake beside it."""
