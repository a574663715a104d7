"""Synchronisation of the node with central through MQTT (durable outbox, acks, catch-up)."""
