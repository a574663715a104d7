-- The household dashboard: read-side tables derived from `entities` (rebuilt from it at any
-- time), kept up to date in the transaction that folds the events, and the nodes' reports.

-- One row per lot in stock (active: in stock or below zero), with the names of its product
-- and location copied in so the stock list sorts, filters and pages on indexes alone.
CREATE TABLE dash_lots (
    lot_id        uuid    PRIMARY KEY,
    -- The product the lot was bought as (its events keep naming it) and the one it reads as
    -- (the survivor when that product was merged); names below are the owner's.
    product_id    uuid,
    owner_id      uuid,
    location_id   uuid,
    -- The node whose purchase made the lot (the lot's `origin` attribute), '' if unknown.
    node          text    NOT NULL DEFAULT '',
    amount        numeric NOT NULL,
    best_before   text,
    use_by        text,
    opened_on     text,
    -- Price per unit when the lot's purchase carried one (a receipt line, a GS1 price).
    unit_price    numeric,
    product_name  text    NOT NULL DEFAULT '',
    name_key      text    NOT NULL DEFAULT '',
    category      text,
    unit          text    NOT NULL DEFAULT 'piece',
    location_name text    NOT NULL DEFAULT ''
);
CREATE INDEX dash_lots_product ON dash_lots (product_id);
CREATE INDEX dash_lots_owner ON dash_lots (owner_id);
CREATE INDEX dash_lots_location ON dash_lots (location_id);
CREATE INDEX dash_lots_by_name ON dash_lots (name_key, lot_id);
CREATE INDEX dash_lots_by_best_before ON dash_lots ((coalesce(best_before, '9999-12-31')), lot_id);
CREATE INDEX dash_lots_by_amount ON dash_lots (amount, lot_id);
CREATE INDEX dash_lots_by_location ON dash_lots (lower(location_name), lot_id);
CREATE INDEX dash_lots_by_node ON dash_lots (node, lot_id);
CREATE INDEX dash_lots_use_by ON dash_lots (use_by);

-- One row per product (deleted and merged ones included, flagged), for below-min stock.
CREATE TABLE dash_products (
    product_id uuid    PRIMARY KEY,
    name       text    NOT NULL,
    category   text,
    unit       text    NOT NULL DEFAULT 'piece',
    min_stock  numeric,
    live       boolean NOT NULL,
    -- The latest price per unit known from a purchase of it, by the price write's Lamport
    -- clock (never by a wall clock): the value of its lots that carry no price of their own.
    unit_price numeric,
    price_stamp bigint,
    -- Its stock over every node and location: the lots that read as it (owner_id).
    stock      numeric NOT NULL DEFAULT 0,
    -- Its merged_into register, and the product it reads as: itself, or the survivor its
    -- merges lead to (appliance.store.merges.resolve: chains followed, a cycle's smallest id).
    merged_into uuid,
    owner      uuid
);
CREATE INDEX dash_products_min ON dash_products (product_id)
    WHERE live AND min_stock IS NOT NULL AND stock < min_stock;

-- The latest retained report of each node (kitchen/v1/{household}/node/{node}/info).
CREATE TABLE node_info (
    node        text        PRIMARY KEY,
    info        jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- What was used up, one row per consume or spoil event, for the statistics. `day` is the date
-- of the event's timestamp (the node's clock: for weekly buckets only, never for an order),
-- null when that clock was obviously not set.
CREATE TABLE dash_usage (
    event_id   uuid    PRIMARY KEY,
    spoiled    boolean NOT NULL,
    product_id uuid    NOT NULL,
    amount     numeric NOT NULL,
    day        date,
    undone     boolean NOT NULL DEFAULT false
);
CREATE INDEX dash_usage_day ON dash_usage (day) WHERE NOT undone;
-- Events undone (journal.undone targets), whichever of the two arrived first.
CREATE TABLE dash_undone (target uuid PRIMARY KEY);

-- Whether the read tables hold what `entities` and `events` say. A database that had data
-- before this migration is filled by central at start (central.db.stock_rows.rebuild), with
-- the same code that keeps the tables up to date.
CREATE TABLE dash_state (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    built boolean NOT NULL
);
INSERT INTO dash_state (built) SELECT NOT EXISTS (SELECT 1 FROM entities);
