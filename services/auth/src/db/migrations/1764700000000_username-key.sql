-- Up Migration
-- Usernames are compared by the key the service computes (usernameKey: NFKC and a locale-independent case
-- fold), the same one its lockout counts by, instead of Postgres's collation-dependent lower(). Registration
-- only ever accepted ASCII names, whose key is their ASCII lower case, so existing rows are keyed in SQL here.
ALTER TABLE password_credentials ADD COLUMN username_key text;
UPDATE password_credentials SET username_key = lower(username COLLATE "C");
ALTER TABLE password_credentials ALTER COLUMN username_key SET NOT NULL;
DROP INDEX password_credentials_username_key;
CREATE UNIQUE INDEX password_credentials_username_key ON password_credentials (username_key);
