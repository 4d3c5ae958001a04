//! Characters that change how text reads without being seen — bidirectional overrides and
//! isolates, zero-width characters, control codes — made visible. In a forensic tool
//! `admin\u{202E}txt.exe` must not pass for `adminexe.txt`: the page shows such values as
//! `admin⟦U+202E⟧txt.exe` (the raw value is still what filters and exports use).

/// Whether `c` is invisible or reorders the text around it. Zero-width joiners stay: emoji
/// sequences and several scripts need them.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
        | '\u{00AD}' | '\u{180E}' | '\u{FFF9}'..='\u{FFFB}'
    ) || (c.is_control() && c != '\n' && c != '\t')
}

/// True when `text` holds any character [`is_hidden`] flags.
pub fn has_hidden(text: &str) -> bool {
    text.chars().any(is_hidden)
}

/// `text` with every hidden character replaced by a visible `⟦U+XXXX⟧` marker; borrowed
/// unchanged when there is none (the common case costs nothing).
pub fn reveal(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_hidden(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&format!("⟦U+{:04X}⟧", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`reveal`] as an owned string, for views.
pub fn shown(text: &str) -> String {
    reveal(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_to_left_override_is_shown_not_obeyed() {
        assert_eq!(reveal("admin\u{202E}txt.exe"), "admin⟦U+202E⟧txt.exe");
        assert_eq!(reveal("a\u{2067}b\u{2069}"), "a⟦U+2067⟧b⟦U+2069⟧");
        assert_eq!(reveal("\u{200B}x\u{FEFF}"), "⟦U+200B⟧x⟦U+FEFF⟧");
        assert_eq!(reveal("bell\u{7}"), "bell⟦U+0007⟧");
    }

    #[test]
    fn ordinary_text_in_any_script_is_left_alone() {
        for text in ["deploy", "שלום עולם", "مرحبا", "Zoë 🚀 日本 👩\u{200D}💻", "می\u{200C}خواهم", "line\nbreak\ttab", ""] {
            assert!(matches!(reveal(text), std::borrow::Cow::Borrowed(_)), "{text}");
            assert!(!has_hidden(text), "{text}");
        }
    }
}
