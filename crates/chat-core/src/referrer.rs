//! Search keywords out of a referrer, so an agent sees what a visitor searched for to find the site.

/// Search engines and the query parameter that holds the words.
const ENGINES: &[(&str, &[&str])] = &[
    ("google.", &["q"]),
    ("bing.com", &["q"]),
    ("duckduckgo.com", &["q"]),
    ("search.yahoo.", &["p"]),
    ("baidu.com", &["wd", "word"]),
    ("sogou.com", &["query", "keyword"]),
    ("so.com", &["q"]),
    ("yandex.", &["text"]),
    ("naver.com", &["query"]),
    ("ecosia.org", &["q"]),
];

/// The search words in `referrer` if it is a known search engine's results page.
pub fn search_keywords(referrer: &str) -> Option<String> {
    let rest = referrer.split_once("://").map_or(referrer, |(_, rest)| rest);
    let (host, path_and_query) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host).to_ascii_lowercase();
    let (_, params) = ENGINES.iter().find(|(domain, _)| host_matches(&host, domain))?;
    let query = path_and_query.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| params.contains(name))
        .map(|(_, value)| percent_decode(value))
        .map(|words| words.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|words| !words.is_empty())
}

/// `google.` matches `www.google.co.uk`; `so.com` matches `www.so.com` but not `sogou.com`.
fn host_matches(host: &str, domain: &str) -> bool {
    let mut tail = host.split(':').next().unwrap_or_default();
    loop {
        let hit = if domain.ends_with('.') { tail.starts_with(domain) } else { tail == domain };
        if hit {
            return true;
        }
        match tail.split_once('.') {
            Some((_, rest)) => tail = rest,
            None => return false,
        }
    }
}

/// Decodes `%XX` escapes and `+` as space; invalid escapes stay as they are, invalid UTF-8 is replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::search_keywords;

    #[test]
    fn finds_the_words_of_known_engines() {
        let cases = [
            ("https://www.google.com/search?q=live+chat+widget&hl=en", Some("live chat widget")),
            ("https://www.google.co.uk/search?hl=en&q=kefu%20pricing", Some("kefu pricing")),
            ("https://www.baidu.com/s?ie=utf-8&wd=%E5%9C%A8%E7%BA%BF%E5%AE%A2%E6%9C%8D", Some("在线客服")),
            ("https://m.baidu.com/s?word=%E5%AE%A2%E6%9C%8D", Some("客服")),
            ("https://www.bing.com/search?q=chat&form=QBLH", Some("chat")),
            ("https://duckduckgo.com/?q=open+source+chat#frag", Some("open source chat")),
            ("https://search.yahoo.com/search?p=help+desk", Some("help desk")),
            ("https://www.so.com/s?q=abc", Some("abc")),
            ("https://www.sogou.com/web?query=%E4%BD%A0%E5%A5%BD", Some("你好")),
            ("https://yandex.ru/search/?text=%D1%87%D0%B0%D1%82", Some("чат")),
        ];
        for (referrer, words) in cases {
            assert_eq!(search_keywords(referrer).as_deref(), words, "{referrer}");
        }
    }

    #[test]
    fn ignores_other_sites_empty_queries_and_broken_escapes() {
        let cases = [
            ("", None),
            ("https://example.com/?q=not+a+search+engine", None),
            ("https://notgoogle.com/search?q=x", None),
            ("https://www.google.com/", None),
            ("https://www.google.com/search?q=", None),
            ("https://www.google.com/search?q=100%25+sure%", Some("100% sure%")),
            ("https://www.google.com/search?q=%zz", Some("%zz")),
        ];
        for (referrer, words) in cases {
            assert_eq!(search_keywords(referrer).as_deref(), words, "{referrer}");
        }
    }
}
