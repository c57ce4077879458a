-- Up Migration
-- A deleted account's orders stay (accounting needs them) under its user id, which names nobody any more; the payer
-- openid WeChat Pay needed is erased from them. A paid order still to be shipped keeps it until its shipping is
-- reported (WeChat's upload_shipping_info names the payer), then loses it too.
ALTER TABLE orders ALTER COLUMN payer_openid DROP NOT NULL;

-- Users whose deletion payment has applied (events.user.deleted), once each.
CREATE TABLE erased_users (
  user_id    uuid PRIMARY KEY,
  event_id   text NOT NULL,
  erased_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE erased_users;
