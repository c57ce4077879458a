-- Up Migration
-- Roles: every user is a buyer; staff and admins are password accounts, and act as such only once their password
-- login includes a TOTP code. A session remembers the role it was opened with and when and how its user last
-- authenticated (step-up: money and credential changes ask for a recent one); a refresh keeps both.
ALTER TABLE password_credentials ADD COLUMN role text NOT NULL DEFAULT 'buyer' CHECK (role IN ('buyer', 'staff', 'admin'));
CREATE INDEX password_credentials_staff_idx ON password_credentials (role) WHERE role <> 'buyer';
ALTER TABLE sessions ADD COLUMN role text NOT NULL DEFAULT 'buyer' CHECK (role IN ('buyer', 'staff', 'admin'));
ALTER TABLE sessions ADD COLUMN auth_time timestamptz;
UPDATE sessions SET auth_time = created_at;
ALTER TABLE sessions ALTER COLUMN auth_time SET NOT NULL, ALTER COLUMN auth_time SET DEFAULT now();
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT '{}';
UPDATE sessions SET amr = CASE method WHEN 'wechat' THEN '{wechat}'::text[] ELSE '{pwd}'::text[] END;

-- Down Migration
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN auth_time;
ALTER TABLE sessions DROP COLUMN role;
DROP INDEX password_credentials_staff_idx;
ALTER TABLE password_credentials DROP COLUMN role;
