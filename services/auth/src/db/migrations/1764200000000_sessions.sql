-- Up Migration
-- A session is one login on one device. Its refresh tokens form one family: every refresh rotates the
-- token, and presenting a used one (after a short grace) revokes the session, ending the family.
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
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Only a SHA-256 of each refresh token is stored; the token itself exists only in the client.
CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  parent_id   uuid REFERENCES refresh_tokens (id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_id);

-- Username + password accounts, each bound to a user of the user service.
CREATE TABLE password_credentials (
  user_id        uuid PRIMARY KEY,
  username       text NOT NULL,
  password_hash  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX password_credentials_username_key ON password_credentials (lower(username));

-- TOTP second factor; the secret is AES-GCM sealed, last_used_step stops a code being accepted twice.
CREATE TABLE totp_factors (
  user_id         uuid PRIMARY KEY,
  secret_sealed   text NOT NULL,
  enabled_at      timestamptz,
  last_used_step  bigint,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE totp_factors;
DROP TABLE password_credentials;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
