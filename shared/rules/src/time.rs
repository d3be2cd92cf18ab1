//! `time.*` fields: the evaluation instant seen in a rule's time zone.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

/// Parse an IANA time-zone name; legacy aliases such as `US/Eastern` work too.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone '{name}' (expected an IANA name such as 'America/New_York' or 'US/Eastern')"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    Hour,
    Minute,
    Second,
    Day,
    Month,
    Year,
    Weekday,
    WeekdayNum,
    Timestamp,
}

impl TimeField {
    pub fn parse(name: &str) -> Option<TimeField> {
        Some(match name {
            "hour" => TimeField::Hour,
            "minute" => TimeField::Minute,
            "second" => TimeField::Second,
            "day" => TimeField::Day,
            "month" => TimeField::Month,
            "year" => TimeField::Year,
            "weekday" => TimeField::Weekday,
            "weekday_num" => TimeField::WeekdayNum,
            "timestamp" => TimeField::Timestamp,
            _ => return None,
        })
    }

    pub const NAMES: &'static str =
        "hour, minute, second, day, month, year, weekday, weekday_num, timestamp";
}

/// The calendar fields of one instant in one zone, computed once per zone per
/// evaluation.
#[derive(Debug, Clone, Copy)]
pub struct LocalTime {
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub day: i64,
    pub month: i64,
    pub year: i64,
    pub weekday_num: i64,
    pub timestamp: i64,
}

impl LocalTime {
    pub fn at(instant: DateTime<Utc>, zone: Tz) -> LocalTime {
        let local = instant.with_timezone(&zone);
        LocalTime {
            hour: i64::from(local.hour()),
            minute: i64::from(local.minute()),
            second: i64::from(local.second()),
            day: i64::from(local.day()),
            month: i64::from(local.month()),
            year: i64::from(local.year()),
            weekday_num: i64::from(local.weekday().number_from_monday()),
            timestamp: instant.timestamp(),
        }
    }

    /// The `time.*` fields as rules read them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "hour": self.hour, "minute": self.minute, "second": self.second,
            "day": self.day, "month": self.month, "year": self.year,
            "weekday": self.weekday_name(), "weekday_num": self.weekday_num,
            "timestamp": self.timestamp,
        })
    }

    pub fn weekday_name(&self) -> &'static str {
        const NAMES: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        // weekday_num is 1..=7 by construction.
        NAMES[((self.weekday_num - 1).rem_euclid(7)) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_local_fields() {
        let tz = parse_timezone("US/Eastern").expect("alias resolves");
        // 2026-01-05 is a Monday; 14:30 UTC is 09:30 EST.
        let t = LocalTime::at("2026-01-05T14:30:00Z".parse().expect("ts"), tz);
        assert_eq!((t.hour, t.minute, t.weekday_num), (9, 30, 1));
        assert_eq!(t.weekday_name(), "Monday");
        // Summer time: 13:30 UTC is 09:30 EDT.
        let t = LocalTime::at("2026-07-06T13:30:00Z".parse().expect("ts"), tz);
        assert_eq!(t.hour, 9);
        assert!(parse_timezone("Mars/Olympus").is_err());
    }
}
