-- The token signing key, generated on first start and shared by every node of the database.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);

-- Each session's secret deal seed (its own question ids and choice order).
ALTER TABLE live_sessions ADD COLUMN deal_seed TEXT;
