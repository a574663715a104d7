-- Grocy's integer ids of the household's entities (appliance/core/grocy_ids.py), for the
-- reverse lookup integer -> UUID of the Grocy-compatible API. The same rule as on the nodes:
-- a key's first candidate, or, on a collision, the order-free assignment. Rows are never
-- deleted: a deleted product keeps its number. Filled for an existing household at start
-- (central.db.grocy_index.backfill).
CREATE TABLE grocy_ids (
    kind   text    NOT NULL,
    key    text    NOT NULL,
    int_id integer NOT NULL CHECK (int_id > 0),
    PRIMARY KEY (kind, key),
    UNIQUE (kind, int_id)
);
