//! Links in messages: shown as text, opened only on a click, and then only
//! web and mail links (never `file:`, `javascript:` or another app's
//! scheme a message could use to do something the reader did not mean).

use kith_core::CoreError;

/// Longest link opened.
const MAX_LINK_BYTES: usize = 4096;

/// Schemes a click on a link in a message may open.
const OPENABLE: [&str; 3] = ["http", "https", "mailto"];

/// Whether a link from a message may be handed to the system browser.
pub fn check_openable(url: &str) -> Result<(), CoreError> {
    let refused = |why: &str| Err(CoreError::new("invalid_input", why.to_owned()));
    if url.len() > MAX_LINK_BYTES || url.chars().any(char::is_control) {
        return refused("this link is too long or holds control characters");
    }
    match url.split_once(':') {
        Some((scheme, rest))
            if OPENABLE.iter().any(|s| s.eq_ignore_ascii_case(scheme)) && !rest.is_empty() =>
        {
            Ok(())
        }
        _ => refused("only web (http, https) and mail links open from a message"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_openable;

    #[test]
    fn only_web_and_mail_links_open() {
        for ok in [
            "https://example.org/a?b=c",
            "HTTP://example.org",
            "mailto:bob@example.org",
        ] {
            assert!(check_openable(ok).is_ok(), "{ok}");
        }
        for refused in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "kith:abc",
            "https:",
            "example.org",
            "https://example.org/\u{0}",
            &format!("https://{}", "a".repeat(5000)),
        ] {
            assert_eq!(
                check_openable(refused).map_err(|e| e.code),
                Err("invalid_input"),
                "{refused}"
            );
        }
    }
}
