-- Up Migration
-- Prices are integers in fen; the client never sends a price.
CREATE TABLE products (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  name        text NOT NULL,
  price       integer NOT NULL CHECK (price > 0),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE products;
