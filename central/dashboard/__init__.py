"""The household dashboard's data API on central: reads, central's own writes, live updates."""
