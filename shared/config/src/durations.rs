//! Every duration in a configuration file is bounded: a TTL or timeout of
//! centuries is a typo, and time arithmetic on it must never be reachable.

/// Ten years, the same bound the rule files and the API use.
pub const MAX_DURATION_SECONDS: u64 = 10 * 365 * 86_400;

/// Check every integer whose key ends in `_seconds`, `_secs` or `_ms` (anywhere, in
/// tables and arrays of tables); the error names the key's place in `text`.
pub(crate) fn check(text: &str) -> Result<(), String> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(()); // the typed parse reports syntax errors
    };
    let mut path = Vec::new();
    walk(&toml::Value::Table(table), &mut path, text)
}

fn walk(value: &toml::Value, path: &mut Vec<String>, text: &str) -> Result<(), String> {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                path.push(key.clone());
                let bound = if key.ends_with("_seconds") || key.ends_with("_secs") {
                    Some(MAX_DURATION_SECONDS)
                } else if key.ends_with("_ms") {
                    Some(MAX_DURATION_SECONDS * 1000)
                } else {
                    None
                };
                if let (toml::Value::Integer(n), Some(bound)) = (value, bound)
                    && u64::try_from(*n).is_ok_and(|n| n > bound)
                {
                    let table = path[..path.len() - 1].join(".");
                    let place = if table.is_empty() {
                        String::new()
                    } else {
                        format!("{table}: ")
                    };
                    return Err(format!(
                        "{}{place}{key} is {n}; durations are at most 10 years ({bound})",
                        locate(text, key, *n),
                    ));
                }
                walk(value, path, text)?;
                path.pop();
            }
            Ok(())
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                walk(item, path, text)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `line:column: ` of the first `key = n` in the text, or nothing.
fn locate(text: &str, key: &str, n: i64) -> String {
    for (i, line) in text.lines().enumerate() {
        let Some(col) = line.find(key) else { continue };
        let rest = line[col + key.len()..].trim_start();
        if let Some(value) = rest.strip_prefix('=')
            && value.trim().replace('_', "").starts_with(&n.to_string())
        {
            return format!("line {}, column {}: ", i + 1, col + 1);
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_long_durations_are_named_with_their_place() {
        let text = "[server]\nport = 8080\n\n[circuit_breaker]\nrecovery_timeout_seconds = 100000000000000000\n";
        let err = check(text).expect_err("refused");
        assert!(
            err.starts_with("line 5, column 1: circuit_breaker: recovery_timeout_seconds"),
            "{err}"
        );
        assert!(check("[chains]\ncompleted_chain_ttl_seconds = 86400\n").is_ok());
        let nested = "[[chains.definitions]]\nname = \"a\"\ntimeout_seconds = 999999999999\n";
        let err = check(nested).expect_err("refused");
        assert!(
            err.contains("chains.definitions.[0]: timeout_seconds"),
            "{err}"
        );
    }
}
