-- Issue 18 (numbered after V21_18): the inbox's and the bots' projections write a batch's progress
-- with one call each, whatever the number of conversations in the batch (dev.parley.inbox.InboxEventWriter,
-- dev.parley.bot.BotStore). Before, each conversation of a batch cost a statement of its own and a round
-- trip: ~0.42 statements per send at 2,000 sends/s of 1:1 chat (benchmarks.md, issue 18, 2026-12-06).
--
-- Why functions and not one UPDATE ... FROM over the arrays: without statistics (a database right after
-- a migration or a bulk load, or one whose autovacuum is off) PostgreSQL takes an equality on
-- conversation_id to match 0.5 % of the table, and a join of more than a conversation or two to
-- inbox_entry becomes a hash join over a sequential scan of the whole table, whose cost grows with the
-- table (1.9 -> 4.9 ms per call over a 3-minute benchmark, 2026-12-06). Each statement inside these
-- functions is the per-conversation statement it replaces, an equality on conversation_id that takes
-- the conversation's index with or without statistics; the functions only save the round trips, the
-- parsing and the protocol of one statement per conversation.
--
-- H2 has no such functions: the same writes are one MERGE there (the Java code holds both).

-- The members' rows of every conversation with messages in the batch. The messages are four arrays of
-- one length (conversation, seq, time, sender), each conversation's in seq order. Per member and
-- conversation: a sender of the batch's messages has read up to their last one, and has unread the
-- later messages past their read position; every other member adds the messages past their read
-- position to their unread count. Returns the number of rows written.
CREATE OR REPLACE FUNCTION parley_inbox_runs(in_conversations VARCHAR[], in_seqs BIGINT[], in_times BIGINT[], in_senders VARCHAR[])
RETURNS INTEGER LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r RECORD;
  n INTEGER;
  written INTEGER := 0;
BEGIN
  FOR r IN
    WITH m AS (SELECT * FROM unnest(in_conversations, in_seqs, in_times, in_senders) AS m(conversation_id, seq, ts, sender)),
    own AS (SELECT conversation_id, sender, max(seq) AS last_own FROM m GROUP BY conversation_id, sender)
    SELECT x.conversation_id, x.seqs, x.ts, o.senders, o.last_owns
    FROM (SELECT conversation_id, array_agg(seq ORDER BY seq) AS seqs, (array_agg(ts ORDER BY seq DESC))[1] AS ts
          FROM m GROUP BY conversation_id) x
    JOIN (SELECT conversation_id, array_agg(sender) AS senders, array_agg(last_own) AS last_owns FROM own GROUP BY conversation_id) o
      USING (conversation_id)
  LOOP
    -- A member's own last seq of the batch is found by position in the conversation's (short) list of
    -- senders, so each member's row is read and written once.
    UPDATE inbox_entry e SET last_activity = r.ts,
      unread = CASE WHEN r.last_owns[array_position(r.senders, e.user_id)] IS NULL THEN e.unread ELSE 0 END
        + (SELECT count(*) FROM unnest(r.seqs) AS s(seq)
           WHERE s.seq > greatest(e.read_seq, coalesce(r.last_owns[array_position(r.senders, e.user_id)], e.read_seq))),
      read_seq = greatest(e.read_seq, coalesce(r.last_owns[array_position(r.senders, e.user_id)], e.read_seq))
    WHERE e.conversation_id = r.conversation_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    written := written + n;
  END LOOP;
  RETURN written;
END $$;

-- Each conversation's newest seq of the batch recorded as seen by its bots (two arrays of one length,
-- each conversation once). Returns the rows it moved; a row already at or past the seq (the batch
-- applied a second time) is not moved and not returned, so its runner is not woken twice.
CREATE OR REPLACE FUNCTION parley_bots_seen(in_conversations VARCHAR[], in_seqs BIGINT[])
RETURNS TABLE (bot VARCHAR, conversation_id VARCHAR, last_seen_seq BIGINT, last_handled_seq BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  FOR i IN 1 .. coalesce(array_length(in_conversations, 1), 0) LOOP
    RETURN QUERY
      UPDATE bot_progress p SET last_seen_seq = in_seqs[i]
      WHERE p.conversation_id = in_conversations[i] AND p.last_seen_seq < in_seqs[i]
      RETURNING p.bot, p.conversation_id, p.last_seen_seq, p.last_handled_seq;
  END LOOP;
END $$;
