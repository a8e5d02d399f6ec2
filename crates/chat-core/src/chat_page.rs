//! The chat window's page, `/chat/{site_key}`, as the self-hosted server and the edge's Worker
//! both write it: in the site's language, loading the window's script, under a policy that lets
//! only the site's allowed origins frame it and lets it talk only to Kefu.

use serde::{Deserialize, Serialize};

const TEMPLATE: &str = include_str!("../../../visitor-web/chat.html");

/// The languages the window speaks.
pub const LANGUAGES: [&str; 2] = ["zh-CN", "en"];

/// The page of a key no site has.
pub const NOT_FOUND_HTML: &str = "<!doctype html><meta charset=utf-8><title>Not found</title>\
                                  <p>This chat does not exist. 此在线客服不存在。</p>";
/// The policy of [`NOT_FOUND_HTML`].
pub const NOT_FOUND_POLICY: &str = "default-src 'none'";

/// What the page needs of its site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSite {
    /// The site's public key.
    pub key: String,
    /// Its name, in the page's title.
    pub name: String,
    /// The widget's languages, the first the default.
    pub languages: Vec<String>,
    /// Origins that may frame the window; none: any.
    pub allowed_origins: Vec<String>,
    /// The largest file a visitor may send.
    pub max_upload_bytes: u64,
}

/// What the request for the page says.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageRequest<'a> {
    /// `embed=1`: inside the loader's iframe.
    pub embed: bool,
    /// `parent=`: the embedding page's origin, the only one the window talks to.
    pub parent: &'a str,
    /// `lang=`: the language the embedding page asked for.
    pub lang: &'a str,
    /// The browser's `Accept-Language`.
    pub accept_language: &'a str,
    /// The `Host` the page was asked of: its sockets go there.
    pub host: Option<&'a str>,
}

/// A written page and its `Content-Security-Policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub html: String,
    pub policy: String,
}

/// The window's page; `versions` are the built stylesheet's and script's (linked with `?v=`).
pub fn render(site: &PageSite, request: &PageRequest<'_>, (css_version, js_version): (&str, &str)) -> Page {
    let parent = if request.embed && is_origin(request.parent) { request.parent } else { "" };
    let wanted = LANGUAGES.iter().copied().find(|lang| *lang == request.lang).unwrap_or_default();
    let lang = language(&site.languages, wanted, request.accept_language);
    let title = format!("{} · {}", site.name, if lang == "en" { "Chat" } else { "在线客服" });
    let html = TEMPLATE
        .replace("{lang}", lang)
        .replace("{title}", &escape(&title))
        .replace("{css_version}", css_version)
        .replace("{js_version}", js_version)
        .replace("{site_key}", &escape(&site.key))
        .replace("{embed}", if request.embed { "1" } else { "0" })
        .replace("{parent}", &escape(parent))
        .replace("{wanted_lang}", wanted)
        .replace("{max_upload}", &site.max_upload_bytes.to_string());
    let own = request.host.filter(|host| is_host(host));
    let sockets = own.map(|host| format!(" ws://{host} wss://{host}")).unwrap_or_default();
    let ancestors =
        if site.allowed_origins.is_empty() { "*".to_owned() } else { site.allowed_origins.join(" ") };
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    Page { html, policy }
}

/// The page's language: the one asked for, else the browser's first the site offers, else the
/// site's first.
pub fn language(offered: &[String], wanted: &str, accept_language: &str) -> &'static str {
    let offers = |lang: &str| offered.iter().any(|l| l == lang);
    let browser = accept_language.split(',').map(|tag| tag.trim().to_ascii_lowercase());
    for tag in std::iter::once(wanted.to_ascii_lowercase()).chain(browser) {
        if tag.starts_with("zh") && offers("zh-CN") {
            return "zh-CN";
        }
        if tag.starts_with("en") && offers("en") {
            return "en";
        }
    }
    if offered.first().is_some_and(|l| l == "zh-CN") { "zh-CN" } else { "en" }
}

/// `scheme://host[:port]` with nothing else: what `postMessage` may target.
pub fn is_origin(text: &str) -> bool {
    let host = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    host.is_some_and(is_host)
}

/// A host name or address with an optional port, and nothing else.
pub fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Text for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> PageSite {
        PageSite {
            key: "k_1".into(),
            name: "Acme <Lamps>".into(),
            languages: vec!["zh-CN".into(), "en".into()],
            allowed_origins: vec!["https://shop.example".into()],
            max_upload_bytes: 1_000,
        }
    }

    #[test]
    fn text_is_escaped_and_only_origins_are_taken() {
        assert_eq!(escape(r#"<b onclick="x">&'"#), "&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;");
        assert!(is_origin("https://shop.example:8443"));
        for bad in ["", "https://", "javascript:alert(1)", "https://a.example/x", "https://a\" onload=\"x"] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn the_page_speaks_the_asked_or_the_browsers_language_and_only_its_origins_frame_it() {
        let request = PageRequest {
            embed: true,
            parent: "https://shop.example",
            accept_language: "en-GB,en;q=0.8",
            host: Some("chat.example"),
            ..PageRequest::default()
        };
        let page = render(&site(), &request, ("c55", "j55"));
        assert!(page.html.contains("<html lang=\"en\">"), "{}", page.html);
        assert!(page.html.contains("<title>Acme &lt;Lamps&gt; · Chat</title>"));
        assert!(page.html.contains("data-parent=\"https://shop.example\""));
        assert!(
            page.html.contains("/assets/chat.js?v=j55") && page.html.contains("data-max-upload=\"1000\"")
        );
        assert!(page.policy.ends_with("frame-ancestors https://shop.example"), "{}", page.policy);
        assert!(page.policy.contains("connect-src 'self' ws://chat.example wss://chat.example"));

        let asked = PageRequest { lang: "zh-CN", parent: "javascript:x", ..request };
        let page = render(&site(), &asked, ("c", "j"));
        assert!(page.html.contains("<title>Acme &lt;Lamps&gt; · 在线客服</title>"));
        assert!(page.html.contains("data-parent=\"\""), "a parent that is no origin is dropped");
        assert_eq!(language(&site().languages, "", "fr"), "zh-CN", "the site's first");
        let anyone = PageSite { allowed_origins: Vec::new(), ..site() };
        assert!(render(&anyone, &request, ("c", "j")).policy.ends_with("frame-ancestors *"));
    }
}
