//! What a file is, found from its first bytes, never from its name: a page cannot slip an HTML
//! file past as `photo.png`. Only kinds a chat needs are accepted; scriptable ones (HTML, SVG, XML)
//! never are.

/// What sniffing found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniffed {
    /// The media type files of this kind are served with.
    pub content_type: &'static str,
    /// For images: width and height in pixels.
    pub size: Option<(u32, u32)>,
}

/// Why a file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a kind the chat takes.
    #[error(
        "this kind of file cannot be sent; send pictures (PNG, JPEG, GIF, WebP), PDF, plain text or ZIP and Office documents"
    )]
    Kind,
    /// Looks like an image but its size cannot be read.
    #[error("the picture is damaged")]
    DamagedImage,
}

/// The kinds taken, in words, for the API's documentation.
pub const ACCEPTED: &str =
    "PNG, JPEG, GIF and WebP pictures, PDF, plain UTF-8 text, and ZIP (Office documents too)";

/// Finds the kind of `bytes`.
pub fn sniff(bytes: &[u8]) -> Result<Sniffed, Refused> {
    let image = |content_type| {
        let size = imagesize::blob_size(bytes).map_err(|_| Refused::DamagedImage)?;
        let pixels = |n: usize| u32::try_from(n).map_err(|_| Refused::DamagedImage);
        Ok(Sniffed { content_type, size: Some((pixels(size.width)?, pixels(size.height)?)) })
    };
    let other = |content_type| Ok(Sniffed { content_type, size: None });
    match bytes {
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..] => image("image/png"),
        [0xff, 0xd8, 0xff, ..] => image("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => image("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => image("image/webp"),
        [b'%', b'P', b'D', b'F', b'-', ..] => other("application/pdf"),
        [b'P', b'K', 3, 4, ..] => other("application/zip"),
        _ if is_plain_text(bytes) => other("text/plain; charset=utf-8"),
        _ => Err(Refused::Kind),
    }
}

/// UTF-8 without control characters (but tabs, line and page breaks), and not markup: HTML or SVG
/// saved as `.txt` is still refused.
fn is_plain_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() || text.trim_start().starts_with('<') {
        return false;
    }
    !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 × 2 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
        0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d,
    ];

    #[test]
    fn pictures_documents_and_text_are_known_by_their_content() {
        assert_eq!(sniff(PNG), Ok(Sniffed { content_type: "image/png", size: Some((3, 2)) }));
        let gif = b"GIF89a\x05\x00\x04\x00\x80\x00\x00";
        assert_eq!(sniff(gif).unwrap().size, Some((5, 4)));
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3").unwrap().content_type, "application/pdf");
        assert_eq!(sniff(b"PK\x03\x04\x14\x00").unwrap().content_type, "application/zip");
        let text = "订单号 42\r\n\tshipped ✓\n".as_bytes();
        assert_eq!(sniff(text).unwrap().content_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn markup_binaries_and_damaged_pictures_are_refused_whatever_their_name() {
        for markup in [
            "<!doctype html><script>alert(1)</script>",
            "\u{feff}  <svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "<?xml version=\"1.0\"?><x/>",
        ] {
            assert_eq!(sniff(markup.as_bytes()), Err(Refused::Kind), "{markup}");
        }
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00"), Err(Refused::Kind), "a Windows program");
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Err(Refused::Kind));
        assert_eq!(sniff(b""), Err(Refused::Kind));
        assert_eq!(sniff(b"a\x00b"), Err(Refused::Kind), "NUL is not text");
        assert_eq!(sniff(&PNG[..12]), Err(Refused::DamagedImage), "a PNG cut short");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Err(Refused::DamagedImage));
    }
}
