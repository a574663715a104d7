-- Product pictures central fetched from Open Food Facts, shrunk (central/off/pictures.py).
CREATE TABLE IF NOT EXISTS pictures (
    product_id uuid        PRIMARY KEY,
    source_url text        NOT NULL,
    jpeg       bytea       NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
