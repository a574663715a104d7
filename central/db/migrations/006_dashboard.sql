-- The household dashboard: read-side tables derived from `entities` (rebuilt from it at any
-- time), kept up to date in the transaction that folds the events, and the nodes' reports.

-- One row per lot in stock (active: in stock or below zero), with the names of its product
-- and location copied in so the stock list sorts, filters and pages on indexes alone.
CREATE TABLE dash_lots (
    lot_id        uuid    PRIMARY KEY,
    product_id    uuid,
    location_id   uuid,
    -- The node whose purchase made the lot (the lot's `origin` attribute), '' if unknown.
    node          text    NOT NULL DEFAULT '',
    amount        numeric NOT NULL,
    best_before   text,
    use_by        text,
    opened_on     text,
    product_name  text    NOT NULL DEFAULT '',
    name_key      text    NOT NULL DEFAULT '',
    category      text,
    unit          text    NOT NULL DEFAULT 'piece',
    location_name text    NOT NULL DEFAULT ''
);
CREATE INDEX dash_lots_product ON dash_lots (product_id);
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
    live       boolean NOT NULL
);
CREATE INDEX dash_products_min ON dash_products (product_id) WHERE live AND min_stock IS NOT NULL;

-- The latest retained report of each node (kitchen/v1/{household}/node/{node}/info).
CREATE TABLE node_info (
    node        text        PRIMARY KEY,
    info        jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Existing data: fill the read tables from the folded state.
INSERT INTO dash_products (product_id, name, category, unit, min_stock, live)
SELECT id, coalesce(view->>'name', ''), view->>'category', coalesce(view->>'unit', 'piece'),
       (view->>'min_stock')::numeric,
       NOT coalesce((view->>'deleted')::boolean, false) AND view->>'merged_into' IS NULL
FROM entities WHERE kind = 'product' AND view <> 'null';

INSERT INTO dash_lots (lot_id, product_id, location_id, node, amount, best_before, use_by,
                       opened_on, product_name, name_key, category, unit, location_name)
SELECT l.id, (l.view->>'product_id')::uuid, (l.view->>'location_id')::uuid,
       coalesce(l.view->>'origin', ''), (l.view->>'amount')::numeric, l.view->>'best_before',
       l.view->>'use_by', l.view->>'opened_on', coalesce(p.name, ''), lower(coalesce(p.name, '')),
       p.category, coalesce(p.unit, 'piece'), coalesce(loc.view->>'name', '')
FROM entities l
LEFT JOIN dash_products p ON p.product_id = (l.view->>'product_id')::uuid
LEFT JOIN entities loc ON loc.kind = 'location' AND loc.id = (l.view->>'location_id')::uuid
WHERE l.kind = 'lot' AND l.active;
