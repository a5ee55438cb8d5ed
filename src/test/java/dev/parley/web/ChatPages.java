package dev.parley.web;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;

import com.microsoft.playwright.Page;

/** Steps of the browser chat client that every browser test takes. */
final class ChatPages {

  private ChatPages() {}

  /** Signs {@code user} in with the development sign-in and waits until the connection is up. */
  static Page signIn(Page page, String base, String user) {
    page.navigate(base + "/");
    page.locator("#login-user").fill(user);
    page.locator("#login-button").click();
    assertThat(page.locator("#me")).hasText(user);
    assertThat(page.locator("#connection")).hasText("connected");
    return page;
  }
}
