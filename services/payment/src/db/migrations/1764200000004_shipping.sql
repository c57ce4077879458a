-- Up Migration
-- WeChat's order shipping management: a paid order's money stays frozen until its shipping is reported and the
-- buyer confirms receipt (or the platform does), so every product says how it is delivered.
ALTER TABLE products ADD COLUMN delivery text NOT NULL DEFAULT 'express'
  CHECK (delivery IN ('express', 'same-city', 'virtual', 'pickup'));
-- The starter products keep the default (express: shipped by staff over payment.shipOrder); a deployment sets
-- `UPDATE products SET delivery = 'virtual' WHERE id = ...` for goods that are reported automatically at payment.

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('PENDING', 'PAID', 'REFUNDING', 'REFUNDED', 'PARTIALLY_REFUNDED', 'CLOSED', 'SHIPPED', 'CONFIRMED', 'SETTLED'));
ALTER TABLE orders ADD COLUMN delivery text NOT NULL DEFAULT 'express'
  CHECK (delivery IN ('express', 'same-city', 'virtual', 'pickup'));
-- When events.payment.shipping_overdue was written for the order (once).
ALTER TABLE orders ADD COLUMN shipping_overdue_at timestamptz;

-- One shipment per order, reported once. `uncertain` means an upload was sent and its answer is unknown (timeout,
-- 5xx, a crash): before any further upload the platform's order is read with get_order, because a second upload
-- would spend the payment's one allowed modification.
CREATE TABLE shipments (
  order_id          uuid PRIMARY KEY REFERENCES orders (id),
  logistics_type    smallint NOT NULL CHECK (logistics_type BETWEEN 1 AND 4),
  express_company   text,
  tracking_no       text,
  receiver_contact  text,
  item_desc         text NOT NULL,
  state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'uncertain', 'reported')),
  attempts          integer NOT NULL DEFAULT 0,
  last_error        text,
  -- A reporter holds the shipment until then; another process (or the reconciler) waits for it to pass.
  claimed_until     timestamptz,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  reported_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_due_idx ON shipments (next_attempt_at) WHERE state <> 'reported';

-- Shipping pushes already acted on (trade_manage_order_settlement...), by the event id auth published them under.
CREATE TABLE shipping_events (
  id           text PRIMARY KEY,
  event        text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE shipping_events;
DROP TABLE shipments;
ALTER TABLE orders DROP COLUMN shipping_overdue_at;
ALTER TABLE orders DROP COLUMN delivery;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('PENDING', 'PAID', 'REFUNDING', 'REFUNDED', 'PARTIALLY_REFUNDED', 'CLOSED'));
ALTER TABLE products DROP COLUMN delivery;
