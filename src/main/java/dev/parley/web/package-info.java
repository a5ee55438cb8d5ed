/**
 * The browser side of a node: the chat client served on the public port ({@link ChatClient}, static
 * files under {@code web/chat/} speaking the public websocket protocol), its development-only sign-in
 * ({@link DevLogin}), and the operator dashboard on the management port ({@link AdminDashboard}).
 * The pages are plain HTML, CSS and JavaScript modules in the jar: no build step, no CDN.
 */
package dev.parley.web;
