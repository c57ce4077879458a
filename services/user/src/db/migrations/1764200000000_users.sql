-- Up Migration
CREATE TABLE users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  appid       text NOT NULL,
  openid      text NOT NULL,
  unionid     text,
  nickname    text,
  avatar_url  text,
  phone       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_appid_openid_key UNIQUE (appid, openid)
);
CREATE INDEX users_unionid_idx ON users (unionid) WHERE unionid IS NOT NULL;

-- Down Migration
DROP TABLE users;
