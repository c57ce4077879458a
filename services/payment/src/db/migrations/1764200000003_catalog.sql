-- Up Migration
-- WeChat Pay takes 127 bytes of description: a product name plus ' ×99' for a quantity must fit.
ALTER TABLE products ADD CONSTRAINT products_name_length CHECK (name <> '' AND octet_length(name) <= 120);

-- The starter catalog, so a fresh install can take an order end to end. A deployment edits this table (INSERT new
-- products, UPDATE ... SET active = false to withdraw one); orders keep the price they were made at.
INSERT INTO products (id, name, price) VALUES
  ('latte', '拿铁咖啡', 1800),
  ('vip-month', '会员月卡', 2500),
  ('sticker-pack', '表情包', 100)
ON CONFLICT (id) DO NOTHING;

-- Down Migration
DELETE FROM products WHERE id IN ('latte', 'vip-month', 'sticker-pack') AND NOT EXISTS (SELECT 1 FROM orders WHERE orders.product_id = products.id);
ALTER TABLE products DROP CONSTRAINT products_name_length;
