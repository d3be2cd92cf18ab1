//! Feed positions. Audit ids are UUIDv7 strings, whose first 48 bits are the
//! minting time in milliseconds, so a position is an id and ids sort by time.

/// A cursor that sorts just below every UUIDv7 minted from `ms` on.
pub(crate) fn cursor_at(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    format!(
        "{:08x}-{:04x}-0000-0000-000000000000",
        ms >> 16,
        ms & 0xffff
    )
}

/// The minting time of an id, in milliseconds since the epoch.
pub(crate) fn millis_of(id: &str) -> Option<i64> {
    let hex: String = id.chars().filter(|c| *c != '-').take(12).collect();
    if hex.len() < 12 {
        return None;
    }
    i64::from_str_radix(&hex, 16).ok()
}

/// A client's `Last-Event-ID`: a UUID in canonical form (what we send as
/// event ids), lower-cased.
pub(crate) fn parse_event_id(raw: &str) -> Option<String> {
    let id = uuid::Uuid::try_parse(raw.trim()).ok()?;
    Some(id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_order_like_ids() {
        let id = uuid::Uuid::now_v7().to_string();
        let ms = millis_of(&id).expect("time");
        assert!(cursor_at(ms).as_str() <= id.as_str());
        assert!(cursor_at(ms + 1).as_str() > id.as_str());
        assert_eq!(millis_of(&cursor_at(ms)), Some(ms));
        assert_eq!(parse_event_id(&id.to_uppercase()), Some(id));
        for bad in [
            "0",
            "",
            "not-an-id",
            "ffffffff-ffff-ffff-ffff-fffffffffffff",
        ] {
            assert_eq!(parse_event_id(bad), None, "{bad}");
        }
    }
}
