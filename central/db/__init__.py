"""PostgreSQL access of central: migrations, the event store and its queries."""
