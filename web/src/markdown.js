// Safe markdown for bot text: markdown-it with raw HTML disabled (so "<script>" or
// "<img onerror=...>" shows as literal text), links limited to http(s), mailto and
// relative URLs, opened in a new tab without giving the new page a handle on ours.
import MarkdownIt from "markdown-it";
import { safeUrl } from "./dom.js";

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });

// Images in bot text would let any URL be fetched from the shopper's browser; the
// bot sends pictures through the message's `image` field instead.
md.disable("image");

md.validateLink = (url) => safeUrl(url, { allowMailto: true }) !== null;

const defaultLinkOpen =
  md.renderer.rules.link_open || ((tokens, idx, options, env, self) => self.renderToken(tokens, idx, options));

md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  token.attrSet("target", "_blank");
  token.attrSet("rel", "noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** HTML for `text` (escaped, html disabled); the only string the widget puts in innerHTML. */
export function renderMarkdown(text) {
  return md.render(String(text ?? ""));
}
