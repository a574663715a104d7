-- Notifications (central/notify): the household's settings, the claims that make each alert
-- go out once, what was sent and to whom. Days and times are central's clock, never a node's.

CREATE TABLE notify_settings (
    household  text        PRIMARY KEY,
    settings   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id         bigserial   PRIMARY KEY,
    household  text        NOT NULL,
    event_type text        NOT NULL,
    title      text        NOT NULL,
    message    text        NOT NULL,
    items      jsonb       NOT NULL,
    day        date        NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL
);
CREATE INDEX notifications_recent ON notifications (household, id DESC);

-- One row per (rule, subject, day), taken with INSERT ... ON CONFLICT DO NOTHING before
-- anything is sent: across restarts and between two central processes, only the process
-- whose insert went in sends.
CREATE TABLE notify_claims (
    household       text   NOT NULL,
    rule            text   NOT NULL,
    subject         text   NOT NULL,
    day             date   NOT NULL,
    notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    PRIMARY KEY (household, rule, subject, day)
);
CREATE INDEX notify_claims_day ON notify_claims (household, day);

-- Each notification to each target (an Apprise URL by its fingerprint, or 'ha'). 'sending'
-- rows carry a lease: a process that died while sending leaves them to be taken again.
CREATE TABLE notify_deliveries (
    id              bigserial   PRIMARY KEY,
    notification_id bigint      NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    target          text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'gave_up')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt    timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz,
    UNIQUE (notification_id, target)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt)
    WHERE status IN ('sending', 'failed');

-- When a node's status last changed (updated_at moves on every status message, and a
-- retained "offline" arrives again at each central start, which would restart the clock).
ALTER TABLE nodes ADD COLUMN changed_at timestamptz;
UPDATE nodes SET changed_at = updated_at;

-- Web Push (off by default): central's VAPID key pair, made once per household (the first
-- central to insert wins), and the browsers that subscribed.
CREATE TABLE notify_vapid (
    household   text        PRIMARY KEY,
    private_pem text        NOT NULL,
    public_key  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notify_push_subscriptions (
    id         text        PRIMARY KEY,
    household  text        NOT NULL,
    endpoint   text        NOT NULL UNIQUE,
    p256dh     text        NOT NULL,
    auth       text        NOT NULL,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
