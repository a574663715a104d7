"""Synchronisation of the node with central through MQTT (durable outbox, acks, catch-up).

The app creates one ``appliance.sync.client.SyncClient`` (imported from there, so that a node
without paho-mqtt installed still loads its configuration); ``protocol`` and ``mqtt`` are the
wire format and the paho bridge that central uses too.
"""
