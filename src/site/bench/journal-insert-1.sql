-- pgbench script: one journal-shaped row per transaction, as Parley writes a MessagePosted event
-- (src/main/resources/db/migration/postgresql/V1__journal_and_snapshots.sql; sizes taken from a
-- real run: 180-byte CBOR payload, the real manifest, a 36-character writer uuid).
\set conv random(1, 1000)
\set seq random(1, 9000000000000000000)
INSERT INTO event_journal (persistence_id, sequence_number, deleted, writer, write_timestamp, adapter_manifest,
                           event_ser_id, event_ser_manifest, event_payload)
VALUES ('Conversation|bench-pgbench-c' || :client_id || '-' || :conv, :seq, false,
        'ec2d0a8e-1dea-404c-8fa2-3c0aa68893ef', 1795626538212, '', 33,
        'dev.parley.conversation.TimelineEvent$MessagePosted', decode(repeat('a5', 180), 'hex'));
