-- pgbench script: 50 journal-shaped rows per transaction (one multi-row INSERT), the shape of a
-- journal that batches writes across conversations. Rows/s = transactions/s x 50.
\set seq random(1, 9000000000000000000)
INSERT INTO event_journal (persistence_id, sequence_number, deleted, writer, write_timestamp, adapter_manifest,
                           event_ser_id, event_ser_manifest, event_payload)
SELECT 'Conversation|bench-pgbench-c' || :client_id || '-' || g, CAST(:seq AS bigint) + g, false,
       'ec2d0a8e-1dea-404c-8fa2-3c0aa68893ef', 1795626538212, '', 33,
       'dev.parley.conversation.TimelineEvent$MessagePosted', decode(repeat('a5', 180), 'hex')
FROM generate_series(1, 50) AS g;
