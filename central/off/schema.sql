-- Open Food Facts answers cached by central (found and not-found; errors are never cached).
-- payload: {"product": {normalised fields}, "off_data": {raw OFF subset}} when found,
--          {"reason": "..."} when not found.
-- fetched_at is the database's clock (central's), compared with now() in SQL: node clocks are
-- not involved.
CREATE TABLE IF NOT EXISTS off_data (
    barcode    text        PRIMARY KEY,
    status     text        NOT NULL CHECK (status IN ('found', 'not_found')),
    payload    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
