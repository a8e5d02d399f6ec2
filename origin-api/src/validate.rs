//! Field rules shared by the REST API and the admin CLI; each error says what to fix.

/// A text field's length, in characters (leading and trailing spaces do not count toward `min`).
pub fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    if value.trim().chars().count() < min || value.chars().count() > max {
        return Err(if min > 0 {
            format!("{field} has {min} to {max} characters")
        } else {
            format!("{field} has at most {max} characters")
        });
    }
    Ok(())
}

/// An email address: something, `@`, a domain with a dot; no spaces; at most 254 characters.
pub fn email(email: &str) -> Result<(), String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.contains(char::is_whitespace);
    if valid { Ok(()) } else { Err(format!("{email:?} is not an email address")) }
}

/// Capacity of a new agent unless given.
pub const DEFAULT_CAPACITY: u32 = 5;

/// Most open conversations an agent can be given.
pub const MAX_CAPACITY: u32 = 100;

/// An agent's capacity.
pub fn capacity(capacity: u32) -> Result<u32, String> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        Ok(capacity)
    } else {
        Err(format!("capacity is 1 to {MAX_CAPACITY}"))
    }
}

/// Allowed origins are `scheme://host[:port]` exactly as browsers send them: no path, no slash.
pub fn origins(origins: &[String]) -> Result<(), String> {
    const MAX_ORIGINS: usize = 50;
    if origins.len() > MAX_ORIGINS {
        return Err(format!("a site has at most {MAX_ORIGINS} allowed origins"));
    }
    for origin in origins {
        let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        // Host names as browsers send them (international ones in punycode), an optional port, and
        // IPv6 in brackets: nothing that could end a Content-Security-Policy source.
        let valid = rest.is_some_and(|host| {
            !host.is_empty()
                && host.len() <= 253
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
        if !valid {
            return Err(format!(
                "{origin:?} is not an origin; write it as https://shop.example (scheme and host, optional port)"
            ));
        }
    }
    Ok(())
}

/// Languages the widget speaks.
pub use chat_core::chat_page::LANGUAGES as WIDGET_LANGUAGES;

/// A colour as `#rrggbb`.
pub fn color(color: &str) -> Result<(), String> {
    let valid =
        color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if valid { Ok(()) } else { Err(format!("{color:?} is not a colour; write it as #rrggbb, e.g. #1f6feb")) }
}

/// The widget's languages: one or more of [`WIDGET_LANGUAGES`], each once.
pub fn languages(languages: &[String]) -> Result<(), String> {
    let known = languages.iter().all(|language| WIDGET_LANGUAGES.contains(&language.as_str()));
    let once = languages.iter().enumerate().all(|(i, language)| !languages[..i].contains(language));
    if !languages.is_empty() && known && once {
        Ok(())
    } else {
        Err(format!("languages are one or more of {}, each once", WIDGET_LANGUAGES.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert!(origins(&["https://shop.example".into(), "http://127.0.0.1:8080".into()]).is_ok());
        assert!(origins(&["http://[::1]:3000".into(), "https://xn--fiqs8s.example".into()]).is_ok());
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "ftp://x",
            "https://",
            "https://a.example; script-src *",
            "https://a.example,https://b.example",
            "https://'self'",
        ] {
            assert!(origins(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn colours_and_languages_are_what_the_widget_can_show() {
        assert!(color("#1F6feb").is_ok());
        for bad in ["1f6feb", "#1f6fe", "#1f6febb", "red", "#gggggg", "#1f6fe\u{e9}"] {
            assert!(color(bad).is_err(), "{bad}");
        }
        assert!(languages(&["en".into()]).is_ok());
        assert!(languages(&["zh-CN".into(), "en".into()]).is_ok());
        for bad in [vec![], vec!["fr".to_owned()], vec!["en".to_owned(), "en".to_owned()]] {
            assert!(languages(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(email("ana@shop.example").is_ok());
        for bad in ["", "ana", "@shop.example", "ana@localhost", "a na@shop.example"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
