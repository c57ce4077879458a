-- Up Migration
-- When the order's prepay_id was last issued by WeChat Pay: it lives two hours, so pay parameters asked for later
-- come from a new prepay rather than from a re-signed old one. NULL on older rows means "age unknown": prepay again.
ALTER TABLE orders ADD COLUMN prepaid_at timestamptz;

-- Down Migration
ALTER TABLE orders DROP COLUMN prepaid_at;
