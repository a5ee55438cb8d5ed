/**
 * Conversations: the {@link dev.parley.conversation.Conversation} entity (sharded, event-sourced,
 * persist-then-acknowledge, gap-free seq), its {@link dev.parley.conversation.TimelineEvent events},
 * its bounded {@link dev.parley.conversation.ConversationState state}, and the ways the rest of the
 * node reaches it ({@link dev.parley.conversation.Conversations}, {@link dev.parley.conversation.History}).
 */
package dev.parley.conversation;
