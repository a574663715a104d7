"""Application services: commands that read the projection, emit events and notify outlets."""
