"""The node's SQLite adapter: events, projection, outbox, tokens and stations."""

from appliance.store.database import Store, StoreError

__all__ = ["Store", "StoreError"]
