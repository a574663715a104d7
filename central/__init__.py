"""The household aggregator: MQTT ingest, PostgreSQL store, fan-out and enrichment."""
