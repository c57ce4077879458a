-- Up Migration
-- Buyers ask for refunds and the merchant decides: a request holds the order in REFUND_REQUESTED until staff approve
-- it (a refund is opened, REFUNDING) or decline it (back to the status it had, kept in previous_status).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('PENDING', 'PAID', 'REFUNDING', 'REFUNDED', 'PARTIALLY_REFUNDED', 'CLOSED', 'SHIPPED', 'CONFIRMED', 'SETTLED',
                    'REFUND_REQUESTED'));

CREATE TABLE refund_requests (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id         uuid NOT NULL REFERENCES orders (id),
  user_id          uuid NOT NULL,
  amount           integer NOT NULL CHECK (amount > 0),
  reason           text NOT NULL,
  status           text NOT NULL DEFAULT 'REQUESTED' CHECK (status IN ('REQUESTED', 'APPROVED', 'DECLINED')),
  -- Where a decline puts the order back.
  previous_status  text NOT NULL CHECK (previous_status IN ('PAID', 'PARTIALLY_REFUNDED')),
  decided_by       uuid,
  decided_at       timestamptz,
  decline_reason   text,
  refund_id        uuid REFERENCES refunds (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'REQUESTED') = (decided_at IS NULL)),
  CHECK (status <> 'APPROVED' OR refund_id IS NOT NULL),
  CHECK (status <> 'DECLINED' OR decline_reason IS NOT NULL)
);
-- At most one open request per order.
CREATE UNIQUE INDEX refund_requests_open_idx ON refund_requests (order_id) WHERE status = 'REQUESTED';
CREATE INDEX refund_requests_order_idx ON refund_requests (order_id, created_at);

-- The staff search: newest first, by status or over everything.
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, id DESC);
