-- Dashboard login: household accounts, their sessions, and API tokens for scripts.
-- Session ids and token secrets are stored only as SHA-256 hashes (they carry 256 random
-- bits); passwords as argon2id hashes.

CREATE TABLE accounts (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (length(name) BETWEEN 1 AND 64)
);
-- Names are unique without regard to case: "Anna" and "anna" are one account.
CREATE UNIQUE INDEX accounts_name_ci ON accounts (lower(name));

CREATE TABLE auth_sessions (
    id_hash    bytea       PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    address    text
);
CREATE INDEX auth_sessions_account ON auth_sessions (account_id);

CREATE TABLE api_tokens (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    scope       text        NOT NULL CHECK (scope IN ('read', 'full')),
    secret_hash bytea       NOT NULL UNIQUE,
    -- Who made it from the dashboard; NULL for 'kitchen-central token create'.
    account_id  bigint      REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_used   timestamptz,
    CHECK (length(name) BETWEEN 1 AND 64)
);
CREATE UNIQUE INDEX api_tokens_name_ci ON api_tokens (lower(name));
