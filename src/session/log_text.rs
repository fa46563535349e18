//! Text that a client chose, made safe for a log line: control characters (newlines, carriage
//! returns, escape sequences, …) are written escaped (`\n`, `\u{1b}`), so a value cannot start
//! a forged log line or drive a terminal. Everything else is written as it is.

use std::fmt;

/// Writes its text with every control character escaped.
///
/// `format!("{}", Escaped("a\nb"))` is `a\nb` with a backslash and an `n`, on one line.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("find returned a char boundary");
            write!(f, "{}", c.escape_default())?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let forged = "denied\n[ERROR] admin logged in\r\u{1b}[2J\u{7f}\u{85}tab\tend";
        let logged = Escaped(forged).to_string();
        assert!(!logged.chars().any(char::is_control), "{logged}");
        assert_eq!(logged, "denied\\n[ERROR] admin logged in\\r\\u{1b}[2J\\u{7f}\\u{85}tab\\tend");
        assert_eq!(Escaped("plain \"quoted\" é/ü").to_string(), "plain \"quoted\" é/ü");
        assert_eq!(Escaped("").to_string(), "");
    }
}
