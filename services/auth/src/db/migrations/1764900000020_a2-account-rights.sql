-- Up Migration
-- Where and when each session was used, for the user's own session list: the client address and user agent the
-- gateway saw at sign-in, and the last refresh.
ALTER TABLE sessions ADD COLUMN client_ip text, ADD COLUMN user_agent text, ADD COLUMN last_refreshed_at timestamptz;

-- Users staff disabled: their sign-ins and refreshes are refused until enabled again.
CREATE TABLE disabled_users (
  user_id      uuid PRIMARY KEY,
  disabled_at  timestamptz NOT NULL DEFAULT now(),
  disabled_by  uuid
);

-- Accounts erased (by their owner, or by a WeChat push): one row each, so the erasure and its audit event happen once.
CREATE TABLE deleted_accounts (
  user_id     uuid PRIMARY KEY,
  cause       text NOT NULL,
  actor_id    uuid,
  deleted_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE deleted_accounts;
DROP TABLE disabled_users;
ALTER TABLE sessions DROP COLUMN client_ip, DROP COLUMN user_agent, DROP COLUMN last_refreshed_at;
