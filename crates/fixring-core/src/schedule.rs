//! Session schedules, with QuickFIX's meaning: when a session may be logged on, when it may
//! log on, and when its sequence numbers start again.
//!
//! A [`Schedule`] is pure: it answers for a UTC time ([`Schedule::at`]) and never reads a
//! clock. Its windows are made of [`Window`]s, each a start and an end [`Endpoint`] (a time
//! of day in a time zone) repeated daily, weekly or on listed weekdays:
//!
//! - A **period** of a window begins at the latest start at or before the time asked about
//!   and ends at the first end after that start. The time is inside when it is before that
//!   end. So `StartTime=EndTime` is a 24-hour daily session whose period changes at that
//!   time, and a period may cross midnight or a week end.
//! - Times of day are read in their zone on each day, daylight saving included: a start
//!   that falls in the hour skipped in spring moves forward by the gap, one that falls in the
//!   hour repeated in autumn is its first occurrence.
//! - The **session window** (`StartTime`/`EndTime`, days) makes the periods: a new period
//!   means new sequence numbers. The **logon window** (`LogonTime`/`LogoutTime`, QuickFIX
//!   C++) narrows when a session may be logged on inside its periods; it resets nothing.
//!
//! A non-stop schedule (`NonStopSession=Y`, or no `StartTime`/`EndTime`) is always inside one
//! endless period.

use core::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, civil};

use crate::UtcTimestamp;

/// A time of day, to the second, as `StartTime` and friends write it (`HH:MM:SS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    secs: u32,
}

impl TimeOfDay {
    /// Midnight, `00:00:00`.
    pub const MIDNIGHT: Self = Self { secs: 0 };

    /// `hour:minute:second`; `None` unless hour < 24, minute < 60 and second < 60.
    pub const fn new(hour: u32, minute: u32, second: u32) -> Option<Self> {
        if hour < 24 && minute < 60 && second < 60 {
            Some(Self {
                secs: hour * 3600 + minute * 60 + second,
            })
        } else {
            None
        }
    }

    fn civil(self, date: Date) -> civil::DateTime {
        // Every part is below 60 (the hour below 24): the casts cannot truncate.
        date.at(
            (self.secs / 3600) as i8,
            (self.secs / 60 % 60) as i8,
            (self.secs % 60) as i8,
            0,
        )
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs;
        write!(f, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// A time zone with the name the settings gave it, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// UTC, the zone of a schedule that names none.
    pub fn utc() -> Self {
        Self::new("UTC", TimeZone::UTC)
    }

    /// `tz`, called `name`.
    pub fn new(name: &str, tz: TimeZone) -> Self {
        Self {
            name: name.to_owned(),
            tz,
        }
    }

    /// The name it was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant `time` on `date` in this zone: in a gap, moved forward by the gap; in a
    /// fold, the first of the two.
    fn instant(&self, date: Date, time: TimeOfDay) -> Option<i128> {
        let at = self.tz.to_ambiguous_timestamp(time.civil(date));
        at.compatible().ok().map(Timestamp::as_nanosecond)
    }

    fn date_of(&self, nanos: i128) -> Option<Date> {
        let at = Timestamp::from_nanosecond(nanos).ok()?;
        Some(self.tz.to_datetime(at).date())
    }
}

/// One end of a window: a time of day in a zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The time of day.
    pub time: TimeOfDay,
    /// The zone it is read in.
    pub zone: Zone,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.time, self.zone.name)
    }
}

/// On which days a window's periods start and end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Days {
    /// Every day: a period starts at every start and ends at the first end after it.
    Daily,
    /// Once a week (`StartDay`/`EndDay`): a period starts on `start` and ends on `end`.
    Weekly {
        /// The day periods start on.
        start: Weekday,
        /// The day periods end on.
        end: Weekday,
    },
    /// On the listed days (QuickFIX/J's `Weekdays`): a period starts on each of them and
    /// ends at the first end after it.
    Weekdays(Vec<Weekday>),
}

/// Times of day repeated on some days: the periods of a session, or its logon window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    start: Endpoint,
    end: Endpoint,
    days: Days,
}

/// How far back or forward, in days, a start or an end is looked for: a week, a day on each
/// side for zone offsets, and a margin.
const SEARCH_DAYS: usize = 16;

/// The instant `found` gives for the first of `SEARCH_DAYS` days from `date` on, each the
/// `step` of the one before, that has one.
fn scan(
    mut date: Date,
    step: impl Fn(Date) -> Option<Date>,
    found: impl Fn(Date) -> Option<i128>,
) -> Option<i128> {
    for _ in 0..SEARCH_DAYS {
        if let Some(instant) = found(date) {
            return Some(instant);
        }
        date = step(date)?;
    }
    None
}

impl Window {
    /// Periods from `start` to `end` on `days`.
    ///
    /// As QuickFIX C++: a weekly window whose start and end day are the same and whose end
    /// time is after its start time lasts the whole week (its end moves to its start).
    pub fn new(start: Endpoint, mut end: Endpoint, days: Days) -> Self {
        if let Days::Weekly { start: s, end: e } = days
            && s == e
            && end.time > start.time
        {
            end.time = start.time;
        }
        Self { start, end, days }
    }

    /// The start of the window.
    pub fn start(&self) -> &Endpoint {
        &self.start
    }

    /// The end of the window.
    pub fn end(&self) -> &Endpoint {
        &self.end
    }

    /// The days of the window.
    pub fn days(&self) -> &Days {
        &self.days
    }

    fn starts_on(&self, day: Weekday) -> bool {
        match &self.days {
            Days::Daily => true,
            Days::Weekly { start, .. } => *start == day,
            Days::Weekdays(days) => days.contains(&day),
        }
    }

    fn ends_on(&self, day: Weekday) -> bool {
        match &self.days {
            Days::Daily | Days::Weekdays(_) => true,
            Days::Weekly { end, .. } => *end == day,
        }
    }

    /// The latest start at or before `t` (nanoseconds since 1970).
    fn start_before(&self, t: i128) -> Option<i128> {
        let from = self.start.zone.date_of(t)?.tomorrow().ok()?;
        scan(
            from,
            |d| d.yesterday().ok(),
            |date| {
                let start = self.start.zone.instant(date, self.start.time)?;
                (self.starts_on(date.weekday()) && start <= t).then_some(start)
            },
        )
    }

    /// The first start after `t`.
    fn start_after(&self, t: i128) -> Option<i128> {
        let from = self.start.zone.date_of(t)?.yesterday().ok()?;
        scan(
            from,
            |d| d.tomorrow().ok(),
            |date| {
                let start = self.start.zone.instant(date, self.start.time)?;
                (self.starts_on(date.weekday()) && start > t).then_some(start)
            },
        )
    }

    /// The first end after `start`.
    fn end_after(&self, start: i128) -> Option<i128> {
        let from = self.end.zone.date_of(start)?.yesterday().ok()?;
        scan(
            from,
            |d| d.tomorrow().ok(),
            |date| {
                let end = self.end.zone.instant(date, self.end.time)?;
                (self.ends_on(date.weekday()) && end > start).then_some(end)
            },
        )
    }

    /// The period that `t` is in, if it is in one, and else the next one's start.
    fn locate(&self, t: i128) -> Located {
        if let Some(start) = self.start_before(t)
            && let Some(end) = self.end_after(start)
            && t < end
        {
            return Located::Inside { start, end };
        }
        Located::Outside {
            next: self.start_after(t),
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.days {
            Days::Daily => write!(f, "daily {} - {}", self.start, self.end),
            Days::Weekly { start, end } => write!(
                f,
                "weekly {} {} - {} {}",
                day_name(*start),
                self.start,
                day_name(*end),
                self.end
            ),
            Days::Weekdays(days) => {
                let names: Vec<&str> = days.iter().map(|d| day_name(*d)).collect();
                write!(f, "on {} {} - {}", names.join(","), self.start, self.end)
            }
        }
    }
}

/// The English name of `day`, as settings files write it.
pub fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

enum Located {
    Inside { start: i128, end: i128 },
    Outside { next: Option<i128> },
}

/// When a session may be logged on, and when its sequence numbers start again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// The session window; `None` for a non-stop session.
    session: Option<Window>,
    /// The logon window inside it, when it is narrower.
    logon: Option<Window>,
}

/// What a [`Schedule`] says about one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    /// The start of the session period the moment is in (the UNIX epoch for a non-stop
    /// session's one endless period); `None` outside the session window.
    pub period: Option<UtcTimestamp>,
    /// Whether the moment is inside the logon window too (always, without one).
    pub logon_time: bool,
    /// When the answer changes next: a period's end or start, or the logon window's; `None`
    /// when it never does.
    pub changes_at: Option<UtcTimestamp>,
}

impl At {
    /// Whether the session may be logged on: inside a period and inside the logon window.
    pub fn is_open(&self) -> bool {
        self.period.is_some() && self.logon_time
    }
}

impl Schedule {
    /// A session that never stops and never resets by time.
    pub fn non_stop() -> Self {
        Self::default()
    }

    /// Periods of `session`, logged on only inside `logon` when it is set.
    pub fn new(session: Window, logon: Option<Window>) -> Self {
        Self {
            session: Some(session),
            logon,
        }
    }

    /// Whether the session never stops.
    pub fn is_non_stop(&self) -> bool {
        self.session.is_none()
    }

    /// The session window; `None` when non-stop.
    pub fn session_window(&self) -> Option<&Window> {
        self.session.as_ref()
    }

    /// The logon window, when one narrows the session window.
    pub fn logon_window(&self) -> Option<&Window> {
        self.logon.as_ref()
    }

    /// What the schedule says at `utc`.
    pub fn at(&self, utc: UtcTimestamp) -> At {
        let t = i128::from(utc.unix_nanos());
        let Some(session) = &self.session else {
            return At {
                period: Some(UtcTimestamp::from_unix_nanos(0)),
                logon_time: true,
                changes_at: None,
            };
        };
        let (period, mut changes) = match session.locate(t) {
            Located::Inside { start, end } => (Some(start), Some(end)),
            Located::Outside { next } => (None, next),
        };
        let mut logon_time = true;
        if let Some(logon) = &self.logon {
            let (inside, change) = match logon.locate(t) {
                Located::Inside { end, .. } => (true, Some(end)),
                Located::Outside { next } => (false, next),
            };
            logon_time = inside;
            changes = match (changes, change) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        At {
            period: period.map(to_utc),
            logon_time,
            changes_at: changes.map(to_utc),
        }
    }

    /// The start of the session period `utc` is in; `None` outside the session window.
    pub fn period_of(&self, utc: UtcTimestamp) -> Option<UtcTimestamp> {
        self.at(utc).period
    }
}

/// A time from [`Window::locate`], clamped to what a [`UtcTimestamp`] holds.
fn to_utc(nanos: i128) -> UtcTimestamp {
    UtcTimestamp::from_unix_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(session) = &self.session else {
            return f.write_str("non-stop, sequence numbers never reset by time");
        };
        write!(f, "{session}, new sequence numbers at each start")?;
        if let Some(logon) = &self.logon {
            write!(f, "; logon {logon}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        Zone::new(name, TimeZone::get(name).expect("a bundled zone"))
    }

    fn point(time: &str, zone_name: &str) -> Endpoint {
        let parts: Vec<u32> = time
            .split(':')
            .map(|p| p.parse().expect("digits"))
            .collect();
        Endpoint {
            time: TimeOfDay::new(parts[0], parts[1], parts[2]).expect("a time"),
            zone: zone(zone_name),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` as a timestamp.
    fn utc(text: &str) -> UtcTimestamp {
        let at: Timestamp = text.parse().expect("a timestamp");
        UtcTimestamp::from_unix_nanos(u64::try_from(at.as_nanosecond()).expect("after 1970"))
    }

    fn daily(start: &str, end: &str, zone_name: &str) -> Schedule {
        let window = Window::new(point(start, zone_name), point(end, zone_name), Days::Daily);
        Schedule::new(window, None)
    }

    #[test]
    fn a_daily_window_in_utc() {
        let s = daily("08:00:00", "17:00:00", "UTC");
        let at = s.at(utc("2026-11-26T12:00:00Z"));
        assert_eq!(at.period, Some(utc("2026-11-26T08:00:00Z")));
        assert_eq!(at.changes_at, Some(utc("2026-11-26T17:00:00Z")));
        assert!(at.is_open());
        let after = s.at(utc("2026-11-26T17:00:00Z"));
        assert_eq!(after.period, None, "EndTime is the first moment outside");
        assert_eq!(after.changes_at, Some(utc("2026-11-27T08:00:00Z")));
        let before = s.at(utc("2026-11-26T07:59:59Z"));
        assert_eq!(before.period, None);
        assert_eq!(before.changes_at, Some(utc("2026-11-26T08:00:00Z")));
    }

    #[test]
    fn a_window_across_midnight() {
        let s = daily("22:00:00", "06:00:00", "UTC");
        assert_eq!(
            s.period_of(utc("2026-11-27T02:00:00Z")),
            Some(utc("2026-11-26T22:00:00Z"))
        );
        assert_eq!(
            s.period_of(utc("2026-11-26T23:00:00Z")),
            Some(utc("2026-11-26T22:00:00Z"))
        );
        assert_eq!(s.period_of(utc("2026-11-26T12:00:00Z")), None);
        assert_eq!(
            s.at(utc("2026-11-27T02:00:00Z")).changes_at,
            Some(utc("2026-11-27T06:00:00Z"))
        );
    }

    #[test]
    fn start_equal_to_end_is_a_whole_day_that_starts_again_at_that_time() {
        let s = daily("00:00:00", "00:00:00", "UTC");
        let at = s.at(utc("2026-11-26T23:59:59Z"));
        assert_eq!(at.period, Some(utc("2026-11-26T00:00:00Z")));
        assert_eq!(at.changes_at, Some(utc("2026-11-27T00:00:00Z")));
        let midnight = s.at(utc("2026-11-27T00:00:00Z"));
        assert_eq!(midnight.period, Some(utc("2026-11-27T00:00:00Z")));
        assert!(midnight.is_open());
    }

    #[test]
    fn new_york_hours_follow_daylight_saving() {
        let s = daily("08:00:00", "17:00:00", "America/New_York");
        // Friday 6 March 2026: EST, UTC-5.
        assert_eq!(
            s.period_of(utc("2026-03-06T14:00:00Z")),
            Some(utc("2026-03-06T13:00:00Z"))
        );
        // Monday 9 March 2026, after the change on the 8th: EDT, UTC-4.
        assert_eq!(
            s.period_of(utc("2026-03-09T12:30:00Z")),
            Some(utc("2026-03-09T12:00:00Z"))
        );
        assert_eq!(s.period_of(utc("2026-03-06T12:30:00Z")), None);
        // Sunday 1 November: back to EST. The end follows, 21:00Z then 22:00Z.
        assert_eq!(
            s.at(utc("2026-10-31T15:00:00Z")).changes_at,
            Some(utc("2026-10-31T21:00:00Z"))
        );
        assert_eq!(
            s.at(utc("2026-11-01T15:00:00Z")).changes_at,
            Some(utc("2026-11-01T22:00:00Z"))
        );
    }

    #[test]
    fn a_start_in_the_skipped_hour_moves_forward_and_a_repeated_hour_counts_once() {
        let s = daily("02:30:00", "02:30:00", "America/New_York");
        // 8 March 2026 has no 02:30 in New York: the period starts at 03:30 EDT (07:30Z).
        assert_eq!(
            s.period_of(utc("2026-03-08T07:45:00Z")),
            Some(utc("2026-03-08T07:30:00Z"))
        );
        assert_eq!(
            s.period_of(utc("2026-03-08T07:15:00Z")),
            Some(utc("2026-03-07T07:30:00Z"))
        );
        // 1 November 2026 has two 01:30s; a 01:30 start is the first one (05:30Z), and the
        // period lasts 25 hours.
        let s = daily("01:30:00", "01:30:00", "America/New_York");
        let at = s.at(utc("2026-11-01T05:45:00Z"));
        assert_eq!(at.period, Some(utc("2026-11-01T05:30:00Z")));
        assert_eq!(at.changes_at, Some(utc("2026-11-02T06:30:00Z")));
        assert_eq!(
            s.at(utc("2026-10-31T06:00:00Z")).changes_at,
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn a_weekly_window_spans_the_week_end() {
        // Sunday 17:00 to Friday 16:58 New York time, as vendors' FX sessions.
        let window = Window::new(
            point("17:00:00", "America/New_York"),
            point("16:58:00", "America/New_York"),
            Days::Weekly {
                start: Weekday::Sunday,
                end: Weekday::Friday,
            },
        );
        let s = Schedule::new(window, None);
        // Wednesday 25 November 2026, noon UTC.
        let at = s.at(utc("2026-11-25T12:00:00Z"));
        assert_eq!(at.period, Some(utc("2026-11-22T22:00:00Z")));
        assert_eq!(at.changes_at, Some(utc("2026-11-27T21:58:00Z")));
        // Saturday: closed until Sunday 17:00 EST.
        let saturday = s.at(utc("2026-11-28T12:00:00Z"));
        assert_eq!(saturday.period, None);
        assert_eq!(saturday.changes_at, Some(utc("2026-11-29T22:00:00Z")));
        // Friday 16:57 EST is in; Sunday 16:59 EST is not.
        assert!(s.at(utc("2026-11-27T21:57:00Z")).is_open());
        assert!(!s.at(utc("2026-11-29T21:59:00Z")).is_open());
    }

    #[test]
    fn the_same_start_and_end_day_with_a_later_end_is_a_whole_week() {
        let window = Window::new(
            point("08:00:00", "UTC"),
            point("17:00:00", "UTC"),
            Days::Weekly {
                start: Weekday::Monday,
                end: Weekday::Monday,
            },
        );
        let s = Schedule::new(window, None);
        // Monday 23 November 2026 08:00 to Monday 30 November 08:00.
        let at = s.at(utc("2026-11-28T12:00:00Z"));
        assert_eq!(at.period, Some(utc("2026-11-23T08:00:00Z")));
        assert_eq!(at.changes_at, Some(utc("2026-11-30T08:00:00Z")));
    }

    #[test]
    fn weekdays_start_a_period_on_each_listed_day() {
        let window = Window::new(
            point("22:00:00", "UTC"),
            point("06:00:00", "UTC"),
            Days::Weekdays(vec![Weekday::Monday, Weekday::Wednesday]),
        );
        let s = Schedule::new(window, None);
        // Tuesday 24 November 2026, 03:00: in Monday's period.
        assert_eq!(
            s.period_of(utc("2026-11-24T03:00:00Z")),
            Some(utc("2026-11-23T22:00:00Z"))
        );
        // Tuesday 23:00: no period starts on Tuesday.
        let at = s.at(utc("2026-11-24T23:00:00Z"));
        assert_eq!(at.period, None);
        assert_eq!(at.changes_at, Some(utc("2026-11-25T22:00:00Z")));
    }

    #[test]
    fn the_logon_window_narrows_the_session_without_a_new_period() {
        let session = Window::new(
            point("18:00:00", "UTC"),
            point("23:00:00", "UTC"),
            Days::Weekly {
                start: Weekday::Sunday,
                end: Weekday::Friday,
            },
        );
        let logon = Window::new(
            point("18:00:01", "UTC"),
            point("22:59:59", "UTC"),
            Days::Weekly {
                start: Weekday::Sunday,
                end: Weekday::Friday,
            },
        );
        let s = Schedule::new(session, Some(logon));
        let at = s.at(utc("2026-11-22T18:00:00Z"));
        assert!(at.period.is_some());
        assert!(!at.logon_time);
        assert_eq!(at.changes_at, Some(utc("2026-11-22T18:00:01Z")));
        let at = s.at(utc("2026-11-27T22:59:59Z"));
        assert_eq!(at.period, Some(utc("2026-11-22T18:00:00Z")));
        assert!(!at.is_open());
        assert_eq!(at.changes_at, Some(utc("2026-11-27T23:00:00Z")));
    }

    #[test]
    fn non_stop_is_one_endless_period() {
        let s = Schedule::non_stop();
        let at = s.at(utc("2026-11-26T12:00:00Z"));
        assert!(at.is_open());
        assert_eq!(at.changes_at, None);
        assert_eq!(at.period, s.period_of(utc("2030-01-01T00:00:00Z")));
        assert_eq!(
            s.to_string(),
            "non-stop, sequence numbers never reset by time"
        );
    }

    #[test]
    fn describes_itself_with_zones_and_days() {
        let window = Window::new(
            point("17:00:00", "America/New_York"),
            point("16:58:00", "America/New_York"),
            Days::Weekly {
                start: Weekday::Sunday,
                end: Weekday::Friday,
            },
        );
        assert_eq!(
            Schedule::new(window, None).to_string(),
            "weekly Sunday 17:00:00 America/New_York - Friday 16:58:00 America/New_York, \
             new sequence numbers at each start"
        );
    }
}
