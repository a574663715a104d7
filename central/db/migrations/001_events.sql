-- The household event log, the folded state and the rejects. Node clocks order nothing here:
-- timestamps with a default of now() are central's clock, for display and retention only.

CREATE TABLE events (
    -- Commit-ish position for display and the stream; never used as a catch-up cursor,
    -- because a bigserial is handed out at INSERT, not at COMMIT.
    pos         bigserial   PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    origin      text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    lamport     bigint      NOT NULL,
    type        text        NOT NULL,
    entity_id   uuid        NOT NULL,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- Per-origin sequences are gap-free at the origin: the catch-up key.
    CONSTRAINT events_origin_seq UNIQUE (origin, seq)
);
CREATE INDEX events_lamport ON events (lamport);

-- One row per entity: the CRDT state (Entity.to_json) plus derived columns for the read API.
CREATE TABLE entities (
    kind       text        NOT NULL,
    id         uuid        NOT NULL,
    state      jsonb       NOT NULL,
    view       jsonb       NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

-- Gap-free sequence of central's own events (origin 'central'), bumped in the transaction
-- that inserts the event, so two central processes cannot both take a number or leave a hole.
CREATE TABLE origin_counters (
    origin text   PRIMARY KEY,
    seq    bigint NOT NULL
);
INSERT INTO origin_counters (origin, seq) VALUES ('central', 0);

-- An event id (or an origin/seq) seen again with a different payload: kept, never applied.
CREATE TABLE quarantine (
    id          bigserial   PRIMARY KEY,
    event_id    text,
    origin      text,
    seq         bigint,
    topic       text        NOT NULL,
    reason      text        NOT NULL,
    payload     jsonb       NOT NULL,
    existing    jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Messages that could not be read or were not allowed: malformed, unknown version, oversized,
-- wrong origin. The raw bytes are kept (truncated when oversized) with the reason.
CREATE TABLE dead_letter (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    reason      text        NOT NULL,
    event_id    text,
    raw         bytea       NOT NULL,
    size        integer     NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Node presence from the retained status topic and its last will.
CREATE TABLE nodes (
    node       text        PRIMARY KEY,
    status     text        NOT NULL DEFAULT 'unknown',
    last_seen  timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Products waiting for an Open Food Facts lookup; written in the transaction of the event
-- that asked for it, so a crash after the commit does not lose the request.
CREATE TABLE enrich_jobs (
    product_id uuid        PRIMARY KEY,
    barcode    text        NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL DEFAULT now(),
    last_error text
);
