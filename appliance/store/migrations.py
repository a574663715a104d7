"""Versioned schema migrations, applied in order at start (``PRAGMA user_version``).

Never edit a released migration: add a new one. Each runs in one transaction.
"""

from __future__ import annotations


def _restock(row: str, condition: str = "") -> str:
    """Migration 13's statement that sums the lots of ``row``'s product into its stock row
    again (a trigger cannot call a function, so each trigger carries it)."""
    where = f"active = 1 AND product_id = {row}.product_id"
    tail = " GROUP BY product_id;"
    if condition:
        tail = f"\n                {condition}{tail}"
    return f"""        INSERT INTO product_stock
            SELECT product_id, sum(amount), count(*), min(best_before), sum(amount < 0),
                   (SELECT json_group_array(location_id) FROM (SELECT DISTINCT location_id
                    FROM lots WHERE {where}
                    ORDER BY location_id))
            FROM lots WHERE {where}{tail}"""


MIGRATIONS: list[str] = [
    # 1: events, projection, outbox, tokens, stations
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        pos INTEGER PRIMARY KEY,            -- local order of application, for display only
        event_id TEXT NOT NULL UNIQUE,
        origin TEXT NOT NULL,
        seq INTEGER NOT NULL,
        lamport INTEGER NOT NULL,
        type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        product_id TEXT,
        station_id TEXT,
        timestamp TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (origin, seq)
    );
    CREATE INDEX events_type ON events (type, pos);
    CREATE INDEX events_product ON events (product_id, pos);
    CREATE TABLE undone (target TEXT PRIMARY KEY, undo_event_id TEXT NOT NULL);
    CREATE TABLE origins (origin TEXT PRIMARY KEY, contiguous INTEGER NOT NULL,
                          pending TEXT NOT NULL DEFAULT '[]');
    CREATE TABLE outbox (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,
                         payload TEXT NOT NULL);
    CREATE TABLE products (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL, brand TEXT,
        category TEXT, unit TEXT NOT NULL, min_stock INTEGER, deleted INTEGER NOT NULL,
        needs_enrichment INTEGER NOT NULL, view TEXT NOT NULL, state TEXT NOT NULL
    );
    CREATE INDEX products_name ON products (deleted, name_key);
    CREATE TABLE barcodes (code TEXT NOT NULL, product_id TEXT NOT NULL,
                           PRIMARY KEY (code, product_id));
    CREATE INDEX barcodes_product ON barcodes (product_id);
    CREATE TABLE locations (id TEXT PRIMARY KEY, name TEXT NOT NULL, deleted INTEGER NOT NULL,
                            view TEXT NOT NULL, state TEXT NOT NULL);
    CREATE TABLE lots (
        id TEXT PRIMARY KEY, product_id TEXT, location_id TEXT, amount INTEGER NOT NULL,
        best_before TEXT, opened_on TEXT, active INTEGER NOT NULL,
        view TEXT NOT NULL, state TEXT NOT NULL
    );
    CREATE INDEX lots_product ON lots (product_id, active);
    CREATE INDEX lots_active ON lots (active, best_before);
    CREATE INDEX lots_location ON lots (location_id, active);
    CREATE TABLE shopping (
        id TEXT PRIMARY KEY, product_id TEXT, priority_rank INTEGER NOT NULL,
        purchased INTEGER NOT NULL, auto INTEGER NOT NULL, present INTEGER NOT NULL,
        view TEXT NOT NULL, state TEXT NOT NULL
    );
    CREATE INDEX shopping_present ON shopping (present, priority_rank);
    CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
                         created_at TEXT NOT NULL);
    CREATE TABLE stations (id TEXT PRIMARY KEY, mode TEXT, last_scan TEXT);
    """,
    # 2: remember when a device token was last used and whether it was revoked, so paired
    # devices can be listed and revoked.
    """
    ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
    ALTER TABLE tokens ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'cli';
    """,
    # 3: the inventory list's order as an index, so a page of lots needs no sort of them all.
    """
    CREATE INDEX lots_order ON lots (active, best_before IS NULL, best_before, id);
    """,
    # 4: a lot's stored view carries its product's and location's names (no join to list).
    """
    UPDATE lots SET view = json_set(view,
        '$.product_name', (SELECT name FROM products WHERE products.id = lots.product_id),
        '$.unit', coalesce((SELECT unit FROM products WHERE products.id = lots.product_id),
                           'piece'),
        '$.location_name', (SELECT name FROM locations WHERE locations.id = lots.location_id));
    """,
    # 5: the per-product summary reads lots through an index that holds every column it needs,
    # never the wide rows with their JSON (halves it for 20,000 lots).
    """
    CREATE INDEX lots_summary ON lots (active, product_id, amount, best_before, location_id);
    """,
    # 6: tokens get a role (CLI tokens manage devices, paired ones use the kitchen), and a
    # counter that every revocation, role change or deletion bumps, whichever process made it:
    # the running node watches it to drop cached token checks and close revoked sockets.
    """
    ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'kitchen';
    UPDATE tokens SET role = 'owner' WHERE kind = 'cli';
    INSERT OR IGNORE INTO meta (key, value) VALUES ('tokens_changed', '0');
    CREATE TRIGGER tokens_changed_update AFTER UPDATE OF revoked, role ON tokens
    BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_changed';
    END;
    CREATE TRIGGER tokens_changed_delete AFTER DELETE ON tokens
    BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tokens_changed';
    END;
    """,
    # 7: receipts. Their files stay in the data directory; these rows say what the node holds
    # (its own captures, waiting for central until ``delivered``) and central's view of every
    # receipt of the household (``revision`` orders central's updates, never a clock).
    """
    CREATE TABLE receipts (
        id TEXT PRIMARY KEY, origin TEXT NOT NULL, status TEXT NOT NULL,
        revision INTEGER NOT NULL, delivered INTEGER NOT NULL, view TEXT NOT NULL
    );
    CREATE INDEX receipts_waiting ON receipts (delivered, origin);
    CREATE TABLE receipt_files (
        receipt_id TEXT NOT NULL REFERENCES receipts (id) ON DELETE CASCADE, idx INTEGER NOT NULL,
        name TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL,
        sha256 TEXT NOT NULL, PRIMARY KEY (receipt_id, idx)
    );
    CREATE TABLE receipt_deletions (id TEXT PRIMARY KEY);
    """,
    # 8: the household's settings (an entity like the others), and which product each merged
    # product now reads as (derived from the products' states; see appliance/store/merges.py).
    """
    CREATE TABLE settings (id TEXT PRIMARY KEY, view TEXT NOT NULL, state TEXT NOT NULL);
    CREATE TABLE merges (source TEXT PRIMARY KEY, target TEXT NOT NULL);
    CREATE INDEX events_station ON events (station_id, pos);
    """,
    # 9: copies of central's product pictures (small JPEGs), so they show offline too.
    """
    CREATE TABLE pictures (product_id TEXT PRIMARY KEY, jpeg BLOB NOT NULL,
                           received_at TEXT NOT NULL);
    """,
    # 10: receipt texts the household confirmed as products (an entity like the others), so
    # every node and central learn them from the same events.
    """
    CREATE TABLE receipt_matches (id TEXT PRIMARY KEY, view TEXT NOT NULL, state TEXT NOT NULL);
    """,
    # 11: Grocy's integer ids of our entities (appliance/core/grocy_ids.py), for the reverse
    # lookup integer -> UUID of the Grocy-compatible API; filled for older databases by
    # ``appliance.store.grocy_index.backfill`` (see ``AFTER``).
    """
    CREATE TABLE grocy_ids (kind TEXT NOT NULL, key TEXT NOT NULL, int_id INTEGER NOT NULL,
                            PRIMARY KEY (kind, key), UNIQUE (kind, int_id));
    """,
    # 12: the inventory list reads lots in its order from an index that holds their views,
    # never the rows: 20,000 lots took 60-80 ms of random row lookups, now one pass over the
    # index (10-30 ms). Costs the views' size again on disk. Replaces lots_order (a prefix).
    """
    CREATE INDEX lots_list ON lots (active, best_before IS NULL, best_before, id, view);
    DROP INDEX lots_order;
    """,
    # 13: per product in stock, what its lots add up to (total, lots, next best-before, lots
    # below zero, locations), kept by triggers on lots: whatever writes a lot (a commit, the
    # re-pointing of a merge) keeps it right. The summary of 5,000 products read it from
    # 20,000 lots each time (80-100 ms on a 2-core machine); now it joins one row a product,
    # and reads the products' columns it shows from an index instead of their wide rows,
    # and the lots due soon from one that ends in their product (lots_active did not).
    f"""
    CREATE INDEX products_summary
        ON products (deleted, name_key, id, name, brand, unit, category, min_stock);
    CREATE INDEX lots_due ON lots (active, best_before, product_id);
    DROP INDEX lots_active;
    CREATE TABLE product_stock (
        product_id TEXT PRIMARY KEY, total INTEGER NOT NULL, lots INTEGER NOT NULL,
        next_bb TEXT, negative INTEGER NOT NULL, locs TEXT NOT NULL
    );
    INSERT INTO product_stock
        SELECT product_id, sum(amount), count(*), min(best_before), sum(amount < 0),
               (SELECT json_group_array(location_id) FROM (SELECT DISTINCT location_id
                FROM lots l WHERE l.active = 1 AND l.product_id = lots.product_id
                ORDER BY location_id))
        FROM lots WHERE active = 1 AND product_id IS NOT NULL GROUP BY product_id;
    CREATE TRIGGER lots_stock_insert AFTER INSERT ON lots
    WHEN NEW.product_id IS NOT NULL AND NEW.active = 1
    BEGIN
        -- A new lot (a purchase, the common write) only adds to the sums: no lot is read.
        INSERT INTO product_stock VALUES (NEW.product_id, NEW.amount, 1, NEW.best_before,
                                          NEW.amount < 0, json_array(NEW.location_id))
        ON CONFLICT (product_id) DO UPDATE SET
            total = total + excluded.total, lots = lots + 1,
            next_bb = coalesce(min(next_bb, excluded.next_bb), next_bb, excluded.next_bb),
            negative = negative + excluded.negative,
            locs = CASE WHEN EXISTS (SELECT 1 FROM json_each(locs)
                                     WHERE value IS NEW.location_id) THEN locs
                   ELSE (SELECT json_group_array(value) FROM (SELECT value FROM json_each(locs)
                         UNION SELECT NEW.location_id ORDER BY 1)) END;
    END;
    CREATE TRIGGER lots_stock_update
    AFTER UPDATE OF product_id, amount, best_before, location_id, active ON lots
    BEGIN
        DELETE FROM product_stock WHERE product_id = OLD.product_id;
{_restock("OLD")}
        DELETE FROM product_stock
            WHERE product_id = NEW.product_id AND NEW.product_id IS NOT OLD.product_id;
{_restock("NEW", "AND NEW.product_id IS NOT OLD.product_id")}
    END;
    CREATE TRIGGER lots_stock_delete AFTER DELETE ON lots WHEN OLD.product_id IS NOT NULL
    BEGIN
        DELETE FROM product_stock WHERE product_id = OLD.product_id;
{_restock("OLD")}
    END;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
