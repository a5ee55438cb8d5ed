-- H2 only: H2 cannot read an ascending index backwards, so the inbox page query (newest activity
-- first) read every row of the user through the ascending index and sorted them (the cost grew
-- with the user's number of conversations). With the index in the page's own order and the
-- query's ORDER BY naming user_id first, H2 reads just the page ("index sorted" in its plan;
-- checked by dev.parley.inbox.InboxQueryPlanIT). PostgreSQL scans its ascending index backwards
-- and keeps it.
DROP INDEX inbox_entry_by_activity;
CREATE INDEX inbox_entry_by_activity ON inbox_entry (user_id, last_activity DESC, conversation_id DESC);
