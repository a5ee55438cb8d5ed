-- Offline notifications (issue 21; dev.parley.notification, operations.md "Offline notifications").
-- Numbered 21 after the issue, so that it cannot collide with a V5 of another branch.

-- A member's mute of one conversation: no offline notification for it while the row exists.
-- A member setting the client sets with the "mute" frame; kept apart from inbox_entry (which the
-- inbox projection creates) so that a mute right after an invite is never lost to projection lag.
CREATE TABLE inbox_mute (
  user_id VARCHAR(255) NOT NULL,
  conversation_id VARCHAR(255) NOT NULL,
  muted_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);

-- One row per (offline member, conversation) with messages not yet notified, written by the
-- notification projection in the same transaction as its offset. messages: how many are waiting
-- (0: none; the row then only remembers sent_at, the start of the coalescing window). due_at: when
-- the next attempt may run (NULL exactly when messages = 0). last_*: the newest waiting message
-- (the notification's preview). tag: the projection tag of the conversation, so that each tag's
-- dispatcher reads only its own rows.
CREATE TABLE notification_pending (
  user_id VARCHAR(255) NOT NULL,
  conversation_id VARCHAR(255) NOT NULL,
  tag VARCHAR(255) NOT NULL,
  messages INTEGER NOT NULL,
  last_seq BIGINT NOT NULL,
  last_sender VARCHAR(255),
  last_text VARCHAR(1000),
  last_ts BIGINT,
  first_at BIGINT,
  due_at BIGINT,
  attempts INTEGER NOT NULL,
  sent_at BIGINT,
  PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX notification_pending_due ON notification_pending (tag, due_at);

-- How far the notification projection has read each tag of the journal, written in the same
-- transaction as the notification_pending rows it made: a restart neither re-notifies nor skips.
CREATE TABLE notification_offset (
  tag VARCHAR(255) NOT NULL PRIMARY KEY,
  journal_ordering BIGINT NOT NULL,
  event_timestamp BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
