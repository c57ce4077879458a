-- Up Migration
-- An order is one JSAPI payment of one product. Its amount is fixed at creation (price x quantity, in fen).
CREATE TABLE orders (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id          uuid NOT NULL,
  out_trade_no     text NOT NULL UNIQUE CHECK (out_trade_no ~ '^[A-Za-z0-9_|*-]{6,32}$'),
  product_id       text NOT NULL REFERENCES products (id),
  quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
  unit_price       integer NOT NULL CHECK (unit_price > 0),
  amount           integer NOT NULL CHECK (amount > 0 AND amount = unit_price * quantity),
  description      text NOT NULL,
  payer_openid     text NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING', 'PAID', 'REFUNDING', 'REFUNDED', 'PARTIALLY_REFUNDED', 'CLOSED')),
  prepay_id        text,
  transaction_id   text UNIQUE,
  refunded_amount  integer NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
  expires_at       timestamptz NOT NULL,
  -- When the reconciler next asks WeChat Pay about this order if no notification has settled it.
  next_check_at    timestamptz NOT NULL,
  paid_at          timestamptz,
  closed_at        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
-- The reconciler's work list: only pending orders, by when they are due.
CREATE INDEX orders_pending_due_idx ON orders (next_check_at) WHERE status = 'PENDING';

-- Every status change of an order and what caused it (a notification id, the reconciler, a refund...).
CREATE TABLE order_transitions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id     uuid NOT NULL REFERENCES orders (id),
  from_status  text,
  to_status    text NOT NULL,
  cause        text NOT NULL,
  detail       jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_transitions_order_idx ON order_transitions (order_id, id);

-- A refund keeps its out_refund_no from the first attempt on: asking WeChat Pay again with it can only ever
-- refund once.
CREATE TABLE refunds (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id        uuid NOT NULL REFERENCES orders (id),
  out_refund_no   text NOT NULL UNIQUE CHECK (out_refund_no ~ '^[A-Za-z0-9_|*@-]{1,64}$'),
  amount          integer NOT NULL CHECK (amount > 0),
  reason          text,
  status          text NOT NULL DEFAULT 'PROCESSING' CHECK (status IN ('PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL', 'FAILED')),
  refund_id       text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  settled_at      timestamptz
);
CREATE INDEX refunds_order_idx ON refunds (order_id);
CREATE INDEX refunds_processing_idx ON refunds (updated_at) WHERE status = 'PROCESSING';

-- Idempotency-Key records (IETF draft): one per (user, key), written in the transaction that creates the order or
-- refund, so the key and what it did commit together. An `open` key has no final answer yet: the request holding its
-- lease (`locked_until` in the future) is running it, and once the lease is gone (released after a failed WeChat call,
-- or its holder crashed) the next request with the key runs it again on the same order or refund.
CREATE TABLE idempotency_keys (
  user_id          uuid NOT NULL,
  key              text NOT NULL,
  request_hash     text NOT NULL,
  state            text NOT NULL CHECK (state IN ('open', 'done')),
  locked_until     timestamptz,
  order_id         uuid REFERENCES orders (id),
  refund_id        uuid REFERENCES refunds (id),
  response_status  integer,
  response_body    jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- WeChat Pay notification ids already acted on: the second delivery of one finds its id here.
CREATE TABLE wechat_notifications (
  id           text PRIMARY KEY,
  event_type   text NOT NULL,
  subject      text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE wechat_notifications;
DROP TABLE idempotency_keys;
DROP TABLE refunds;
DROP TABLE order_transitions;
DROP TABLE orders;
