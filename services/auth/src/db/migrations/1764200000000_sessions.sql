-- Up Migration
-- A session is one login on one device; refresh tokens rotate inside it, revocation ends it.
CREATE TABLE sessions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL,
  method        text NOT NULL CHECK (method IN ('wechat', 'password')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  revoke_reason text
);
CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Down Migration
DROP TABLE sessions;
