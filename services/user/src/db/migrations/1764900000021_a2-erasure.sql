-- Up Migration
-- An erased user keeps only its id (orders and payments name it for accounting): profile, phone and WeChat
-- identity are set to NULL, so a later wx.login of the same openid makes a new user. deleted_at says when.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
-- Staff find users by phone number.
CREATE INDEX users_phone_idx ON users (phone) WHERE phone IS NOT NULL;

-- Down Migration
DROP INDEX users_phone_idx;
ALTER TABLE users DROP COLUMN deleted_at;
