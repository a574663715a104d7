-- Receipts: the files as uploaded (chunks in PostgreSQL, so every central process can read
-- them), what was read off them, and the durable job queue of the reading.

CREATE TABLE receipts (
    id          uuid        PRIMARY KEY,
    -- List order (newest first); display only, like events.pos.
    pos         bigserial   UNIQUE,
    -- The node that took it, or 'central' for uploads to central's own API.
    origin      text        NOT NULL,
    status      text        NOT NULL CHECK (status IN
                    ('queued', 'processing', 'completed', 'failed', 'confirmed')),
    -- Bumped by every change; nodes apply a state only when its revision is newer.
    revision    bigint      NOT NULL DEFAULT 1,
    -- The revision last published (retained) on MQTT; below revision means "publish again".
    published   bigint      NOT NULL DEFAULT 0,
    deleted     boolean     NOT NULL DEFAULT false,
    draft       jsonb,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_unpublished ON receipts (id) WHERE published < revision;

CREATE TABLE receipt_files (
    receipt_id   uuid    NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
    idx          integer NOT NULL CHECK (idx >= 0),
    size         integer NOT NULL CHECK (size > 0),
    sha256       text    NOT NULL,
    content_type text    NOT NULL,
    -- Bytes committed so far; chunks are taken only at exactly this offset.
    received     integer NOT NULL DEFAULT 0,
    verified     boolean NOT NULL DEFAULT false,
    -- Times the whole file arrived with another SHA-256 than announced.
    mismatches   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (receipt_id, idx)
);

CREATE TABLE receipt_chunks (
    receipt_id uuid    NOT NULL,
    idx        integer NOT NULL,
    "offset"   integer NOT NULL,
    data       bytea   NOT NULL,
    PRIMARY KEY (receipt_id, idx, "offset"),
    FOREIGN KEY (receipt_id, idx) REFERENCES receipt_files (receipt_id, idx) ON DELETE CASCADE
);

-- One job per receipt. A worker claims it with FOR UPDATE SKIP LOCKED and holds a lease it
-- renews while reading; a job whose lease ran out (its central died) is claimed again.
CREATE TABLE receipt_jobs (
    receipt_id  uuid        PRIMARY KEY REFERENCES receipts (id) ON DELETE CASCADE,
    queued_pos  bigserial,
    state       text        NOT NULL DEFAULT 'waiting'
                    CHECK (state IN ('waiting', 'running', 'done', 'failed')),
    attempts    integer     NOT NULL DEFAULT 0,
    owner       text,
    lease_until timestamptz,
    not_before  timestamptz NOT NULL DEFAULT now(),
    last_error  text
);
CREATE INDEX receipt_jobs_ready ON receipt_jobs (state, queued_pos);

-- What the household confirmed a printed line to be, per shop: the first suggestion next time.
CREATE TABLE receipt_matches (
    merchant   text    NOT NULL,
    text       text    NOT NULL,
    product_id uuid    NOT NULL,
    confirmed  integer NOT NULL DEFAULT 1,
    PRIMARY KEY (merchant, text)
);
