-- Up Migration
-- Two rails behind one order model: WeChat requires virtual goods (memberships, coins, paid content) to be sold
-- through its virtual payment (wx.requestVirtualPayment), and physical goods go through JSAPI WeChat Pay.
ALTER TABLE products ADD COLUMN rail text NOT NULL DEFAULT 'jsapi' CHECK (rail IN ('jsapi', 'virtual'));
ALTER TABLE orders ADD COLUMN rail text NOT NULL DEFAULT 'jsapi' CHECK (rail IN ('jsapi', 'virtual'));

-- The starter catalog's virtual goods move to virtual payment; two physical products keep JSAPI beside the latte.
UPDATE products SET rail = 'virtual', delivery = 'virtual' WHERE id IN ('vip-month', 'sticker-pack');
INSERT INTO products (id, name, price) VALUES
  ('postcard', '明信片', 100),
  ('tote-bag', '帆布袋', 2500)
ON CONFLICT (id) DO NOTHING;

-- Virtual-payment pushes already acted on (xpay_goods_deliver_notify, xpay_refund_notify), by auth's event id.
CREATE TABLE xpay_events (
  id           text PRIMARY KEY,
  event        text NOT NULL,
  subject      text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE xpay_events;
DELETE FROM products WHERE id IN ('postcard', 'tote-bag') AND NOT EXISTS (SELECT 1 FROM orders WHERE orders.product_id = products.id);
UPDATE products SET rail = 'jsapi', delivery = 'express' WHERE id IN ('vip-month', 'sticker-pack');
ALTER TABLE orders DROP COLUMN rail;
ALTER TABLE products DROP COLUMN rail;
