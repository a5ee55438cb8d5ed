-- The inbox read model (dev.parley.inbox), fed from conversation events by the inbox projection.
-- Every inbox query goes through an index: a user's page is a range of inbox_entry_by_activity,
-- joined to inbox_conversation by primary key.

-- One row per conversation: what every member's inbox item shows of it.
CREATE TABLE inbox_conversation (
  conversation_id VARCHAR(255) NOT NULL PRIMARY KEY,
  title VARCHAR(255),
  last_seq BIGINT NOT NULL,
  last_activity BIGINT NOT NULL,
  preview_seq BIGINT,
  preview_sender VARCHAR(255),
  preview_text VARCHAR(1000)
);

-- One row per (member, conversation): the member's read position, unread count and the
-- conversation's last activity, copied here so that a user's inbox is one index range.
CREATE TABLE inbox_entry (
  user_id VARCHAR(255) NOT NULL,
  conversation_id VARCHAR(255) NOT NULL,
  last_activity BIGINT NOT NULL,
  read_seq BIGINT NOT NULL,
  unread INTEGER NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX inbox_entry_by_activity ON inbox_entry (user_id, last_activity, conversation_id);
CREATE INDEX inbox_entry_by_conversation ON inbox_entry (conversation_id);

-- The sender of every message, so that an unread count after a read marker below the last
-- message is an index range count, and a deleted message leaves the unread counts it was in.
CREATE TABLE inbox_message (
  conversation_id VARCHAR(255) NOT NULL,
  seq BIGINT NOT NULL,
  sender VARCHAR(255) NOT NULL,
  PRIMARY KEY (conversation_id, seq)
);

-- How far the projection has read each tag of the journal (event_journal.ordering), written in
-- the same transaction as the changes it made: exactly-once, resumable from where it stopped.
CREATE TABLE inbox_offset (
  tag VARCHAR(255) NOT NULL PRIMARY KEY,
  journal_ordering BIGINT NOT NULL,
  event_timestamp BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
