-- Up Migration
-- A user has a WeChat identity (appid + openid) or none (a password-only back-office account).
CREATE TABLE users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  appid       text,
  openid      text,
  unionid     text,
  nickname    text,
  avatar_url  text,
  phone       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_wechat_identity_complete CHECK ((appid IS NULL) = (openid IS NULL)),
  CONSTRAINT users_appid_openid_key UNIQUE (appid, openid)
);
CREATE INDEX users_unionid_idx ON users (unionid) WHERE unionid IS NOT NULL;

-- Down Migration
DROP TABLE users;
