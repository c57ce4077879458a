-- Up Migration
-- Prices are integers in fen; the client never sends a price.
CREATE TABLE products (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  -- WeChat Pay takes 127 bytes of description: the name plus ' ×99' for a quantity.
  name        text NOT NULL CHECK (name <> '' AND octet_length(name) <= 120),
  price       integer NOT NULL CHECK (price > 0),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The starter catalog, so a fresh install can take an order end to end. A deployment edits this table
-- (INSERT new products, UPDATE ... SET active = false to withdraw one); orders keep the price they were made at.
INSERT INTO products (id, name, price) VALUES
  ('latte', '拿铁咖啡', 1800),
  ('vip-month', '会员月卡', 2500),
  ('sticker-pack', '表情包', 100);

-- Down Migration
DROP TABLE products;
