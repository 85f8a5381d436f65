//! A session's schedule keys: `StartTime`, `EndTime`, `StartDay`, `EndDay`, `Weekdays`,
//! `TimeZone`, `UseLocalTime`, `NonStopSession`, and QuickFIX C++'s logon window
//! (`LogonTime`, `LogoutTime`, `LogonDay`, `LogoutDay`).

use jiff::civil::Weekday;
use jiff::tz::{Offset, TimeZone};

use super::error::{ConfigErrorKind, Report};
use super::keys;
use super::parse::{View, invalid};
use super::session::bool_value;
use super::settings_file::Entry;
use crate::schedule::{Days, Endpoint, Schedule, TimeOfDay, Window, Zone};

/// Reads the schedule of one session; `None` when it has errors (they are in `report`).
///
/// `NonStopSession=Y` wins over every other schedule key, as in QuickFIX/J. Without
/// `StartTime` and `EndTime` the session is non-stop too (QuickFIX refuses such a session;
/// fixring keeps its sessions always on, as before it read schedules).
pub(super) fn read_schedule(view: &View<'_, '_>, report: &mut Report) -> Option<Schedule> {
    let errors_before = report.errors.len();
    if let Some(entry) = view.get(keys::NON_STOP_SESSION) {
        match bool_value(entry, report) {
            Some(true) => return Some(Schedule::non_stop()),
            Some(false) => {}
            None => return None,
        }
    }
    let zone = default_zone(view, report);
    let start_time = view.get(keys::START_TIME);
    let end_time = view.get(keys::END_TIME);
    let (start_time, end_time) = match (start_time, end_time) {
        (Some(start), Some(end)) => (start, end),
        (None, None) => {
            // Days or a logon window without the times they belong to.
            let dependent = [
                keys::START_DAY,
                keys::END_DAY,
                keys::WEEKDAYS,
                keys::LOGON_TIME,
                keys::LOGOUT_TIME,
                keys::LOGON_DAY,
                keys::LOGOUT_DAY,
            ];
            if let Some(entry) = dependent.iter().find_map(|name| view.get(name)) {
                invalid(report, entry, "needs StartTime and EndTime".to_owned());
                return None;
            }
            return zone.map(|_| Schedule::non_stop());
        }
        (Some(_), None) => {
            report.error(view.line, "EndTime", ConfigErrorKind::MissingKey);
            return None;
        }
        (None, Some(_)) => {
            report.error(view.line, "StartTime", ConfigErrorKind::MissingKey);
            return None;
        }
    };
    let zone = zone?;
    let start = endpoint(start_time, &zone, report);
    let end = endpoint(end_time, &zone, report);
    let days = session_days(view, report);
    let logon = logon_window(view, &zone, report);
    if report.errors.len() != errors_before {
        return None;
    }
    let (start, end, days) = (start?, end?, days?);
    let logon = logon?.map(|(logon_start, logon_end, logon_days)| {
        Window::new(
            logon_start.unwrap_or_else(|| start.clone()),
            logon_end.unwrap_or_else(|| end.clone()),
            logon_days.unwrap_or_else(|| days.clone()),
        )
    });
    Some(Schedule::new(Window::new(start, end, days), logon))
}

/// The zone of times written without one: `TimeZone`, the machine's with `UseLocalTime=Y`,
/// else UTC.
fn default_zone(view: &View<'_, '_>, report: &mut Report) -> Option<Zone> {
    let local = match view.get(keys::USE_LOCAL_TIME) {
        Some(entry) => bool_value(entry, report)?,
        None => false,
    };
    match view.get(keys::TIME_ZONE) {
        Some(entry) if local => {
            invalid(
                report,
                entry,
                "UseLocalTime=Y already says which zone (the machine's)".to_owned(),
            );
            None
        }
        Some(entry) => zone(entry, entry.value, report),
        None if local => match TimeZone::try_system() {
            Ok(tz) => {
                let name = match tz.iana_name() {
                    Some(name) => format!("local time ({name})"),
                    None => "local time".to_owned(),
                };
                Some(Zone::new(&name, tz))
            }
            Err(error) => {
                if let Some(entry) = view.get(keys::USE_LOCAL_TIME) {
                    invalid(
                        report,
                        entry,
                        format!("the machine's time zone cannot be read: {error}"),
                    );
                }
                None
            }
        },
        None => Some(Zone::utc()),
    }
}

/// A zone by its IANA name (`America/New_York`, `UTC`), or a fixed offset as Java writes it
/// (`GMT+08:00`, `GMT-5`, `UTC+0530`).
fn zone(entry: &Entry<'_>, name: &str, report: &mut Report) -> Option<Zone> {
    if let Some(offset) = fixed_offset(name) {
        return Some(Zone::new(name, TimeZone::fixed(offset)));
    }
    match TimeZone::get(name) {
        Ok(tz) => Some(Zone::new(name, tz)),
        Err(_) => {
            invalid(
                report,
                entry,
                format!(
                    "unknown time zone {name:?}: expected an IANA name such as \
                     America/New_York, or an offset such as GMT+08:00"
                ),
            );
            None
        }
    }
}

/// `GMT+H`, `GMT+HH`, `GMT+HH:MM`, `GMT+HHMM` (and `UTC…`), as Java's custom zone IDs.
fn fixed_offset(name: &str) -> Option<Offset> {
    let rest = name
        .strip_prefix("GMT")
        .or_else(|| name.strip_prefix("UTC"))?;
    if !rest.is_ascii() {
        return None;
    }
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        None if rest.len() > 2 => rest.split_at(rest.len() - 2),
        None => (rest, "0"),
    };
    if hours.is_empty() || hours.len() > 2 {
        return None;
    }
    let digits = |s: &str| -> Option<i32> {
        if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (hours, minutes) = (digits(hours)?, digits(minutes)?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// `HH:MM:SS`, optionally followed by a zone of its own (`17:00:00 America/New_York`, as
/// QuickFIX/J allows).
fn endpoint(entry: &Entry<'_>, default: &Zone, report: &mut Report) -> Option<Endpoint> {
    let value = entry.value;
    let time = value.get(..8).and_then(time_of_day);
    let rest = value.get(8..).unwrap_or_default();
    let Some(time) = time else {
        invalid(
            report,
            entry,
            "expected a time of day HH:MM:SS, optionally followed by a time zone".to_owned(),
        );
        return None;
    };
    let zone_name = rest.trim();
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        invalid(
            report,
            entry,
            "expected a time of day HH:MM:SS, optionally followed by a time zone".to_owned(),
        );
        return None;
    }
    let zone = if zone_name.is_empty() {
        default.clone()
    } else {
        zone(entry, zone_name, report)?
    };
    Some(Endpoint { time, zone })
}

/// Exactly `HH:MM:SS`.
fn time_of_day(text: &str) -> Option<TimeOfDay> {
    let bytes = text.as_bytes();
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let two = |at: usize| -> Option<u32> {
        let pair = bytes.get(at..at + 2)?;
        pair.iter().all(u8::is_ascii_digit).then(|| {
            pair.iter()
                .fold(0, |n, &digit| n * 10 + u32::from(digit - b'0'))
        })
    };
    TimeOfDay::new(two(0)?, two(3)?, two(6)?)
}

/// A day by its English name, or the first two letters or more of it, in any case
/// (`Sunday`, `sun`, `SU`), as QuickFIX C++ and QuickFIX/J write days.
fn day(entry: &Entry<'_>, text: &str, report: &mut Report) -> Option<Weekday> {
    const DAYS: [(&str, Weekday); 7] = [
        ("sunday", Weekday::Sunday),
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
    ];
    let lower = text.trim().to_ascii_lowercase();
    let found = DAYS
        .iter()
        .find(|(name, _)| lower.len() >= 2 && name.starts_with(lower.as_str()))
        .map(|&(_, day)| day);
    if found.is_none() {
        invalid(
            report,
            entry,
            format!("{text:?} is not a day of the week (Sunday, Mon, tu, …)"),
        );
    }
    found
}

/// `StartDay`/`EndDay` (both or neither), or `Weekdays` (without them); daily otherwise.
fn session_days(view: &View<'_, '_>, report: &mut Report) -> Option<Days> {
    let start_day = view.get(keys::START_DAY);
    let end_day = view.get(keys::END_DAY);
    if let Some(weekdays) = view.get(keys::WEEKDAYS) {
        if let Some(entry) = start_day.or(end_day) {
            invalid(
                report,
                entry,
                "StartDay and EndDay cannot be used with Weekdays".to_owned(),
            );
            return None;
        }
        let mut days = Vec::new();
        for name in weekdays.value.split(',') {
            let day = day(weekdays, name, report)?;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        return Some(Days::Weekdays(days));
    }
    weekly(start_day, end_day, "StartDay", "EndDay", report).map(|days| days.unwrap_or(Days::Daily))
}

/// Both days of a weekly window, neither (`Some(None)`), or an error for one alone.
fn weekly(
    start: Option<&Entry<'_>>,
    end: Option<&Entry<'_>>,
    start_key: &str,
    end_key: &str,
    report: &mut Report,
) -> Option<Option<Days>> {
    match (start, end) {
        (None, None) => Some(None),
        (Some(start), Some(end)) => {
            let start = day(start, start.value, report);
            let end = day(end, end.value, report);
            Some(Some(Days::Weekly {
                start: start?,
                end: end?,
            }))
        }
        (Some(entry), None) => {
            invalid(report, entry, format!("{start_key} used without {end_key}"));
            None
        }
        (None, Some(entry)) => {
            invalid(report, entry, format!("{end_key} used without {start_key}"));
            None
        }
    }
}

/// What the logon keys set: start, end and days, each `None` to take the session's.
type LogonKeys = (Option<Endpoint>, Option<Endpoint>, Option<Days>);

/// `LogonTime`, `LogoutTime`, `LogonDay`, `LogoutDay`: `Some(None)` when none is set.
fn logon_window(
    view: &View<'_, '_>,
    zone: &Zone,
    report: &mut Report,
) -> Option<Option<LogonKeys>> {
    let logon_time = view.get(keys::LOGON_TIME);
    let logout_time = view.get(keys::LOGOUT_TIME);
    let logon_day = view.get(keys::LOGON_DAY);
    let logout_day = view.get(keys::LOGOUT_DAY);
    if [logon_time, logout_time, logon_day, logout_day]
        .iter()
        .all(Option::is_none)
    {
        return Some(None);
    }
    let start = logon_time.map(|entry| endpoint(entry, zone, report));
    let end = logout_time.map(|entry| endpoint(entry, zone, report));
    // As QuickFIX C++, the logon days default to StartDay and EndDay.
    let start_day = logon_day.or_else(|| view.get(keys::START_DAY));
    let end_day = logout_day.or_else(|| view.get(keys::END_DAY));
    let days = match (logon_day, logout_day) {
        (None, None) => None,
        _ => weekly(start_day, end_day, "LogonDay", "LogoutDay", report)?,
    };
    let start = match start {
        Some(endpoint) => Some(endpoint?),
        None => None,
    };
    let end = match end {
        Some(endpoint) => Some(endpoint?),
        None => None,
    };
    Some(Some((start, end, days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("00:00:00"), Some(TimeOfDay::MIDNIGHT));
        assert_eq!(time_of_day("23:59:59"), TimeOfDay::new(23, 59, 59));
        for bad in [
            "24:00:00", "7:00:00", "07:00", "07:60:00", "07:00:0x", "07-00-00",
        ] {
            assert_eq!(time_of_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn java_offsets() {
        let hours = |h: i32| Offset::from_seconds(h * 3600).ok();
        assert_eq!(fixed_offset("GMT+08:00"), hours(8));
        assert_eq!(fixed_offset("GMT-5"), hours(-5));
        assert_eq!(fixed_offset("UTC+0530"), Offset::from_seconds(19_800).ok());
        assert_eq!(fixed_offset("GMT"), None);
        assert_eq!(fixed_offset("GMT+8:0"), None);
        assert_eq!(fixed_offset("GMT+24"), None);
        assert_eq!(fixed_offset("America/New_York"), None);
    }
}
