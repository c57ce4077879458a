-- Up Migration
-- notify_confirm_receive (确认收货提醒) is allowed once per payment: when the buyer was reminded, and the carrier's
-- signed-for time that was sent. Claimed before the call and cleared again if WeChat refused it or did not answer.
ALTER TABLE shipments ADD COLUMN receipt_reminded_at timestamptz;
ALTER TABLE shipments ADD COLUMN received_at timestamptz;

-- Down Migration
ALTER TABLE shipments DROP COLUMN received_at;
ALTER TABLE shipments DROP COLUMN receipt_reminded_at;
