-- Up Migration
-- One row per message push ever accepted, keyed by its dedupe key (MsgId, or a hash of the event and its fields):
-- WeChat retries a push it got no timely answer for, and a retry must not publish the event again.
CREATE TABLE wechat_pushes (
  dedupe_key   text PRIMARY KEY,
  event        text NOT NULL,
  event_id     uuid NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wechat_pushes_received_idx ON wechat_pushes (received_at);

-- Down Migration
DROP TABLE wechat_pushes;
