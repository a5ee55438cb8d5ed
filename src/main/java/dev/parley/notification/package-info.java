/**
 * Offline notifications (issue 21): a member with no open connection anywhere in the cluster
 * (presence) hears of the messages of a conversation through a signed webhook, at most once per
 * conversation per window (coalesced, with the unread count), unless they muted it.
 * {@link dev.parley.notification.NotificationProjection} decides who is to be notified from the
 * journal, with a stored offset per tag (a restart neither repeats nor loses a notification), into
 * {@code notification_pending}; {@link dev.parley.notification.NotificationDispatcher} sends the
 * due rows ({@link dev.parley.notification.NotificationWebhook}) and retries failures with backoff.
 * Off the send path entirely. Off unless {@code parley.notifications.url} is set. See
 * protocol.md and operations.md, "Offline notifications".
 */
package dev.parley.notification;
