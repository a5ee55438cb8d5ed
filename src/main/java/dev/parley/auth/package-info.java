/** Authentication: HS256 JWTs, minted for development and verified at the edge with the algorithm pinned. */
package dev.parley.auth;
