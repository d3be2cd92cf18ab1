//! Every setting of a file we do not support, found in one pass, so a user
//! moving an Acteon config over fixes them all at once instead of one per
//! start.
//!
//! TOML deserialization stops at the first unknown key or value. We record
//! it with its line and column, blank that line in place (newlines kept, so
//! later positions do not move) and parse again, until the file reads or an
//! error is not about an unsupported setting.

use serde::de::DeserializeOwned;

/// The most settings listed before giving up (a file of garbage is not a config).
const MAX_FINDINGS: usize = 64;

/// One unsupported key or value: where it is and what toml said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// What a parse found: the value (when only unsupported settings stood in
/// the way, read without them) and each unsupported setting.
pub(crate) struct Parsed<T> {
    pub value: Result<T, toml::de::Error>,
    pub unsupported: Vec<Unsupported>,
}

fn is_unsupported(message: &str) -> bool {
    message.starts_with("unknown field") || message.starts_with("unknown variant")
}

/// 1-based line and column of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Byte range of the line holding `offset` (without its newline).
fn line_range(text: &str, offset: usize) -> std::ops::Range<usize> {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let start = bytes[..offset]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let end = bytes[offset..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    start..end
}

/// Spaces over `range` (same byte length: every other position stays put
/// and the text stays valid UTF-8, since the range holds whole lines).
fn blank(text: &mut String, range: std::ops::Range<usize>) {
    let spaces = " ".repeat(range.len());
    text.replace_range(range, &spaces);
}

/// Remove the setting at `offset` without moving anything else: a table
/// header takes its keys with it (else they would land in the table above);
/// a key takes as many lines as its value spans (until the text reads again).
fn remove_setting(text: &mut String, offset: usize) {
    let first = line_range(text, offset);
    if text[first.clone()].trim_start().starts_with('[') {
        let mut next = first;
        loop {
            blank(text, next.clone());
            if next.end >= text.len() {
                return;
            }
            next = line_range(text, next.end + 1);
            if text[next.clone()].trim_start().starts_with('[') {
                return;
            }
        }
    }
    let mut next = first;
    for _ in 0..MAX_VALUE_LINES {
        blank(text, next.clone());
        if next.end >= text.len() || text.parse::<toml::Table>().is_ok() {
            return;
        }
        next = line_range(text, next.end + 1);
    }
}

/// A multi-line value (array, string) longer than this ends the search.
const MAX_VALUE_LINES: usize = 1000;

pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Parsed<T> {
    let mut current = text.to_string();
    let mut unsupported = Vec::new();
    loop {
        let err = match toml::from_str::<T>(&current) {
            Ok(value) => {
                unsupported.sort_by_key(|u: &Unsupported| (u.line, u.column));
                return Parsed {
                    value: Ok(value),
                    unsupported,
                };
            }
            Err(err) => err,
        };
        let message = err.message().trim().to_string();
        let span = err.span();
        match span {
            Some(span) if is_unsupported(&message) && unsupported.len() < MAX_FINDINGS => {
                let (line, column) = position(&current, span.start);
                unsupported.push(Unsupported {
                    line,
                    column,
                    message,
                });
                remove_setting(&mut current, span.start);
            }
            _ => {
                unsupported.sort_by_key(|u: &Unsupported| (u.line, u.column));
                return Parsed {
                    value: Err(err),
                    unsupported,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        #[serde(default)]
        kept: u32,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Memory,
    }

    #[test]
    fn every_unknown_key_and_value_is_found_with_its_position() {
        let parsed: Parsed<Shape> = parse(
            "kept = 3\nfoo = 1\nmode = \"redis\"\nbar = [\n  1,\n]\nbaz = \"é\"\n[extra]\nkept = 9\n",
        );
        let found: Vec<(usize, usize)> = parsed
            .unsupported
            .iter()
            .map(|u| (u.line, u.column))
            .collect();
        assert_eq!(
            found,
            vec![(2, 1), (3, 8), (4, 1), (7, 1), (8, 2)],
            "{:?}",
            parsed.unsupported
        );
        assert!(parsed.unsupported[0].message.contains("`foo`"));
        // The unknown table's keys went with it: `kept` stays 3.
        let shape = parsed.value.expect("reads without them");
        assert_eq!((shape.kept, shape.mode.is_none()), (3, true));
    }

    #[test]
    fn a_syntax_error_ends_the_search_and_is_returned() {
        let parsed: Parsed<Shape> = parse("mode = \"memory\"\nfoo = 1\nkept = = 3\n");
        assert!(parsed.value.is_err());
        assert!(parsed.unsupported.len() <= 1);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(position("é = 1\nab", 8), (2, 2));
        assert_eq!(position("é = 1", 3), (1, 3));
        assert_eq!(position("", 0), (1, 1));
    }
}
