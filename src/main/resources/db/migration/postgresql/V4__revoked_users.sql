-- Token revocation by user id (dev.parley.auth.Revocations): every token of user_id issued at or
-- before revoked_at (epoch seconds, the resolution of a JWT's iat) is refused, on every node.
CREATE TABLE revoked_user (
  user_id VARCHAR(255) NOT NULL PRIMARY KEY,
  revoked_at BIGINT NOT NULL
);
