//! Session schedules on the virtual clock: an initiator that connects when its window opens
//! and logs out when it closes, New York hours across both daylight-saving changes, a 24-hour
//! session that starts again at midnight, a weekly session over the week end, QuickFIX C++'s
//! logon window, an acceptor that refuses a Logon outside its window, and sequence numbers
//! kept from an earlier period that start again.

mod common;

use std::time::Duration;

use common::configs;
use fixring_core::config::{SessionConfig, Settings};
use fixring_core::connection::{Connection, Output};
use fixring_core::schedule::Schedule;
use fixring_core::session::SessionState;
use fixring_core::testing::{AppMessage, Pair, PairConfig, Side};
use fixring_core::{ErrorCode, EventKind, Instant, UtcTimestamp, WallClock};

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(text: &str) -> UtcTimestamp {
    let at: jiff::Timestamp = text.parse().expect("a timestamp");
    UtcTimestamp::from_unix_nanos(u64::try_from(at.as_nanosecond()).expect("after 1970"))
}

/// The schedule that `keys` (schedule keys, one per line) give a session.
fn schedule(keys: &str) -> Schedule {
    let text = format!(
        "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=5001\nBeginString=FIX.4.4\n\
         SenderCompID=A\nTargetCompID=B\n{keys}\n[SESSION]\n"
    );
    match Settings::parse(&text, None) {
        Ok(settings) => settings.sessions[0].schedule.clone(),
        Err(errors) => panic!("{errors}"),
    }
}

/// A pair whose sessions both follow `keys`, with the virtual clock's zero at `origin`,
/// hourly heartbeats (days pass in few deadlines) and reconnecting initiators.
fn pair(keys: &str, origin: &str) -> Pair {
    pair_of(keys, keys, origin)
}

fn pair_of(initiator_keys: &str, acceptor_keys: &str, origin: &str) -> Pair {
    let (mut initiator, mut acceptor) = configs(false);
    initiator.schedule = schedule(initiator_keys);
    acceptor.schedule = schedule(acceptor_keys);
    for config in [&mut initiator, &mut acceptor] {
        config.heartbeat_interval = Duration::from_secs(3600);
    }
    let mut config = PairConfig::new(initiator, acceptor);
    config.wall = WallClock::new(Instant::ZERO, utc(origin));
    let mut pair = Pair::new(config).expect("the pair's connections");
    pair.reconnect = true;
    pair.connect();
    pair.drive();
    pair
}

/// When `side` reported events named `name`.
fn times(side: &Side, name: &str) -> Vec<UtcTimestamp> {
    side.events
        .iter()
        .filter(|e| e.name() == name)
        .map(|e| e.at)
        .collect()
}

fn attempts(side: &Side) -> Vec<UtcTimestamp> {
    times(side, "fix.connection.attempt")
}

fn logons(side: &Side) -> Vec<UtcTimestamp> {
    times(side, "fix.session.logon")
}

fn state(side: &Side) -> SessionState {
    side.conn.session().state()
}

fn seqs(side: &Side) -> (u64, u64) {
    let session = side.conn.session();
    (session.next_sender_seq(), session.next_target_seq())
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn an_initiator_connects_when_its_window_opens_and_logs_out_when_it_closes() {
    let mut pair = pair(
        "StartTime=08:00:00\nEndTime=17:00:00",
        "2026-11-26T07:00:00Z",
    );
    assert!(
        attempts(&pair.initiator).is_empty(),
        "no attempt before 08:00"
    );
    assert_eq!(state(&pair.initiator), SessionState::Disconnected);
    pair.advance(HOUR);
    assert_eq!(attempts(&pair.initiator), [utc("2026-11-26T08:00:00Z")]);
    assert_eq!(state(&pair.initiator), SessionState::Active);
    assert_eq!(state(&pair.acceptor), SessionState::Active);
    pair.advance(9 * HOUR);
    // At 17:00 both sides log out; nothing reconnects until 08:00 the next day.
    assert_eq!(
        times(&pair.initiator, "fix.session.logout"),
        [utc("2026-11-26T17:00:00Z")]
    );
    assert_eq!(state(&pair.initiator), SessionState::Disconnected);
    assert_eq!(state(&pair.acceptor), SessionState::Disconnected);
    assert!(!pair.initiator.has_socket());
    pair.advance(15 * HOUR);
    assert_eq!(
        attempts(&pair.initiator),
        [utc("2026-11-26T08:00:00Z"), utc("2026-11-27T08:00:00Z")]
    );
    assert_eq!(pair.initiator.refused, []);
}

#[test]
fn new_york_hours_follow_both_daylight_saving_changes() {
    for (origin, days, starts, ends) in [
        // 8 March 2026: EST (UTC-5) becomes EDT (UTC-4).
        (
            "2026-03-06T12:00:00Z",
            4,
            [
                "2026-03-06T13:00:00Z",
                "2026-03-07T13:00:00Z",
                "2026-03-08T12:00:00Z",
                "2026-03-09T12:00:00Z",
            ],
            [
                "2026-03-06T22:00:00Z",
                "2026-03-07T22:00:00Z",
                "2026-03-08T21:00:00Z",
                "2026-03-09T21:00:00Z",
            ],
        ),
        // 1 November 2026: EDT becomes EST again.
        (
            "2026-10-30T11:00:00Z",
            4,
            [
                "2026-10-30T12:00:00Z",
                "2026-10-31T12:00:00Z",
                "2026-11-01T13:00:00Z",
                "2026-11-02T13:00:00Z",
            ],
            [
                "2026-10-30T21:00:00Z",
                "2026-10-31T21:00:00Z",
                "2026-11-01T22:00:00Z",
                "2026-11-02T22:00:00Z",
            ],
        ),
    ] {
        let mut pair = pair(
            "StartTime=08:00:00\nEndTime=17:00:00\nTimeZone=America/New_York",
            origin,
        );
        for _ in 0..days * 4 - 1 {
            pair.advance(6 * HOUR);
        }
        let starts: Vec<UtcTimestamp> = starts.iter().map(|t| utc(t)).collect();
        let ends: Vec<UtcTimestamp> = ends.iter().map(|t| utc(t)).collect();
        assert_eq!(logons(&pair.initiator), starts, "from {origin}");
        assert_eq!(logons(&pair.acceptor), starts, "from {origin}");
        assert_eq!(
            times(&pair.initiator, "fix.session.logout"),
            ends,
            "from {origin}"
        );
    }
}

#[test]
fn a_whole_day_session_starts_again_at_midnight_with_new_sequence_numbers() {
    let mut pair = pair(
        "StartTime=00:00:00\nEndTime=00:00:00",
        "2026-11-26T21:00:00Z",
    );
    assert_eq!(logons(&pair.initiator), [utc("2026-11-26T21:00:00Z")]);
    pair.advance(2 * HOUR + Duration::from_secs(1800));
    // Hourly heartbeats have moved both sides' numbers on.
    assert_eq!(seqs(&pair.initiator), (4, 4));
    assert_eq!(seqs(&pair.acceptor), (4, 4));
    pair.advance(HOUR);
    // At midnight the period ends: Logout, new numbers, and the initiator logs on again
    // after its ReconnectInterval (30 s).
    assert_eq!(
        times(&pair.initiator, "fix.session.logout"),
        [utc("2026-11-27T00:00:00Z")]
    );
    assert_eq!(
        logons(&pair.initiator),
        [utc("2026-11-26T21:00:00Z"), utc("2026-11-27T00:00:30Z")]
    );
    assert_eq!(state(&pair.initiator), SessionState::Active);
    assert_eq!(seqs(&pair.initiator), (2, 2), "the Logons were number 1");
    assert_eq!(seqs(&pair.acceptor), (2, 2));
    assert_eq!(
        pair.initiator.conn.session().creation_time(),
        utc("2026-11-27T00:00:00Z")
    );
    // Both sides say so, once each.
    for side in [&pair.initiator, &pair.acceptor] {
        assert_eq!(
            times(side, "fix.session.reset"),
            [utc("2026-11-27T00:00:00Z")]
        );
    }
    let reset = pair
        .initiator
        .events
        .iter()
        .find(|e| e.name() == "fix.session.reset");
    let text = reset.map(ToString::to_string).unwrap_or_default();
    assert!(
        text.contains("sequence numbers start again at 1 (a new session period began (")
            && text.contains("00:00:00"),
        "{text}"
    );
}

#[test]
fn a_weekly_session_closes_over_the_week_end_and_starts_again_on_sunday() {
    let mut pair = pair(
        "StartDay=sunday\nEndDay=friday\nStartTime=17:00:00 America/New_York\n\
         EndTime=16:58:00 America/New_York",
        // Friday 27 November 2026, 15:00 EST.
        "2026-11-27T20:00:00Z",
    );
    assert_eq!(logons(&pair.initiator), [utc("2026-11-27T20:00:00Z")]);
    pair.advance(2 * HOUR);
    assert_eq!(
        times(&pair.initiator, "fix.session.logout"),
        [utc("2026-11-27T21:58:00Z")]
    );
    assert_eq!(
        seqs(&pair.initiator),
        (1, 1),
        "the period ended: new numbers"
    );
    for _ in 0..8 {
        pair.advance(6 * HOUR);
    }
    // Saturday passed without an attempt; Sunday 17:00 EST is 22:00Z.
    assert_eq!(
        attempts(&pair.initiator),
        [utc("2026-11-27T20:00:00Z"), utc("2026-11-29T22:00:00Z")]
    );
    assert_eq!(state(&pair.initiator), SessionState::Active);
}

#[test]
fn the_logon_window_logs_out_without_new_sequence_numbers() {
    let mut pair = pair(
        "StartTime=00:00:00\nEndTime=00:00:00\nLogonTime=08:00:00\nLogoutTime=17:00:00",
        "2026-11-26T07:00:00Z",
    );
    assert!(attempts(&pair.initiator).is_empty());
    pair.advance(HOUR);
    assert_eq!(logons(&pair.initiator), [utc("2026-11-26T08:00:00Z")]);
    pair.advance(9 * HOUR);
    assert_eq!(
        times(&pair.initiator, "fix.session.logout"),
        [utc("2026-11-26T17:00:00Z")]
    );
    let after_logout = seqs(&pair.initiator);
    assert!(after_logout.0 > 2, "numbers kept: {after_logout:?}");
    pair.advance(6 * HOUR);
    assert_eq!(seqs(&pair.initiator), after_logout, "same period");
    pair.advance(6 * HOUR);
    // Past midnight: a new period, new numbers, though still outside the logon window.
    assert_eq!(seqs(&pair.initiator), (1, 1));
    assert_eq!(seqs(&pair.acceptor), (1, 1));
    assert_eq!(logons(&pair.initiator).len(), 1);
}

#[test]
fn an_acceptor_refuses_a_logon_outside_its_window() {
    let mut pair = pair_of(
        "",
        "StartTime=08:00:00\nEndTime=17:00:00",
        "2026-11-26T07:30:00Z",
    );
    let refusals: Vec<(ErrorCode, String)> = pair
        .acceptor
        .kinds()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::ConnectionError {
                code, error_detail, ..
            } => Some((code, error_detail)),
            _ => None,
        })
        .collect();
    assert_eq!(refusals.len(), 1, "{:?}", pair.acceptor.kinds());
    assert_eq!(refusals[0].0, ErrorCode::ConnectionRefused);
    assert!(
        refusals[0]
            .1
            .starts_with("Logon refused: outside the session time (daily 08:00:00 UTC"),
        "{}",
        refusals[0].1
    );
    assert!(logons(&pair.acceptor).is_empty());
    assert_ne!(state(&pair.initiator), SessionState::Active);
    // Once the window opens, the initiator's next attempt logs on.
    pair.advance(HOUR);
    assert_eq!(logons(&pair.acceptor).len(), 1);
    assert_eq!(state(&pair.acceptor), SessionState::Active);
}

/// The initiator's session as a file store would restore it: numbers (5, 7) started at
/// `created`.
fn restored(created: &str, keys: &str) -> Connection<AppMessage> {
    let (mut config, _): (SessionConfig, _) = configs(false);
    config.schedule = schedule(keys);
    let wall = WallClock::new(Instant::ZERO, utc("2026-11-26T09:00:00Z"));
    let mut conn = Connection::new(&config, wall, 4096).expect("conn");
    conn.session_mut().restore(5, 7, []);
    conn.session_mut().set_creation_time(utc(created));
    conn
}

#[test]
fn numbers_kept_from_an_earlier_period_start_again_when_the_engine_starts() {
    let keys = "StartTime=08:00:00\nEndTime=17:00:00";
    let mut today = restored("2026-11-26T08:30:00Z", keys);
    today.start(Instant::ZERO);
    assert_eq!(today.session().next_sender_seq(), 5, "same period: kept");
    let mut yesterday = restored("2026-11-25T16:00:00Z", keys);
    yesterday.start(Instant::ZERO);
    let session = yesterday.session();
    assert_eq!(
        (session.next_sender_seq(), session.next_target_seq()),
        (1, 1)
    );
    assert_eq!(session.creation_time(), utc("2026-11-26T09:00:00Z"));
    let mut resets = 0;
    while let Some(output) = yesterday.poll_output(Instant::ZERO) {
        resets += usize::from(matches!(
            output,
            Output::Event(EventKind::SessionReset { .. })
        ));
    }
    assert_eq!(resets, 1, "the reset at start-up is reported");
    // Without a schedule nothing starts again by time.
    let mut non_stop = restored("2020-01-01T00:00:00Z", "");
    non_stop.start(Instant::ZERO);
    assert_eq!(non_stop.session().next_sender_seq(), 5);
}

/// The errors of a session with schedule `keys` (its first key on line 7), as displayed.
fn refused(keys: &str) -> Vec<String> {
    let text = format!(
        "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=5001\nBeginString=FIX.4.4\n\
         SenderCompID=A\nTargetCompID=B\n{keys}\n[SESSION]\n"
    );
    match Settings::parse(&text, Some(std::path::Path::new("s.cfg"))) {
        Ok(settings) => panic!("{keys:?} parsed: {:?}", settings.sessions[0].schedule),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn malformed_and_conflicting_schedule_keys_are_refused_with_their_line() {
    let cases = [
        (
            "StartTime=8:00\nEndTime=17:00:00",
            "s.cfg:7: StartTime: invalid value \"8:00\": expected a time of day HH:MM:SS, \
             optionally followed by a time zone",
        ),
        (
            "StartTime=08:00:00\nEndTime=25:00:00",
            "s.cfg:8: EndTime: invalid value \"25:00:00\"",
        ),
        (
            "StartTime=08:00:00 Mars/Olympus\nEndTime=17:00:00",
            "s.cfg:7: StartTime: invalid value \"08:00:00 Mars/Olympus\": unknown time zone \
             \"Mars/Olympus\"",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nTimeZone=Eastern Standard Time",
            "s.cfg:9: TimeZone: invalid value \"Eastern Standard Time\": unknown time zone",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nStartDay=Monday",
            "s.cfg:9: StartDay: invalid value \"Monday\": StartDay used without EndDay",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nEndDay=Friday",
            "s.cfg:9: EndDay: invalid value \"Friday\": EndDay used without StartDay",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nStartDay=Someday\nEndDay=Friday",
            "s.cfg:9: StartDay: invalid value \"Someday\": \"Someday\" is not a day of the week",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nWeekdays=Mon,Tue\nStartDay=Mon",
            "s.cfg:10: StartDay: invalid value \"Mon\": StartDay and EndDay cannot be used \
             with Weekdays",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nWeekdays=Mon,,Tue",
            "s.cfg:9: Weekdays: invalid value \"Mon,,Tue\": \"\" is not a day of the week",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nUseLocalTime=Y\nTimeZone=UTC",
            "s.cfg:10: TimeZone: invalid value \"UTC\": UseLocalTime=Y already says which zone",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nUseLocalTime=maybe",
            "s.cfg:9: UseLocalTime: expected Y or N, found \"maybe\"",
        ),
        (
            "StartTime=08:00:00\nEndTime=17:00:00\nLogonDay=Monday",
            "s.cfg:9: LogonDay: invalid value \"Monday\": LogonDay used without LogoutDay",
        ),
        (
            "StartTime=08:00:00",
            "s.cfg:8: EndTime: required key is missing",
        ),
        (
            "StartDay=Monday\nEndDay=Friday",
            "s.cfg:7: StartDay: invalid value \"Monday\": needs StartTime and EndTime",
        ),
        (
            "NonStopSession=sometimes",
            "s.cfg:7: NonStopSession: expected Y or N, found \"sometimes\"",
        ),
    ];
    for (keys, expected) in cases {
        let errors = refused(keys);
        assert_eq!(errors.len(), 1, "{keys:?}: {errors:?}");
        assert!(
            errors[0].starts_with(expected),
            "{keys:?}:\n  got  {}\n  want {expected}",
            errors[0]
        );
    }
}

#[test]
fn what_real_settings_files_write_is_read() {
    // Lower-case and three-letter days, a zone in the value, Java's offsets, `Logouttime`.
    let weekly = schedule(
        "StartDay=sunday\nEndDay=Fri\nStartTime=17:00:00 America/New_York\n\
         EndTime=16:58:00 America/New_York",
    );
    assert_eq!(
        weekly.to_string(),
        "weekly Sunday 17:00:00 America/New_York - Friday 16:58:00 America/New_York, \
         new sequence numbers at each start"
    );
    let offset = schedule("TimeZone=GMT+08:00\nStartTime=00:00:00\nEndTime=23:59:00");
    assert_eq!(
        offset.period_of(utc("2026-11-26T15:00:00Z")),
        Some(utc("2026-11-25T16:00:00Z"))
    );
    let logon = schedule(
        "StartDay=Sunday\nEndDay=Friday\nStartTime=18:00:00\nEndTime=23:00:00\n\
         LogonTime=18:00:01\nLogouttime=22:59:59\nLogonDay=Sunday\nLogoutDay=Friday",
    );
    assert!(logon.logon_window().is_some());
    assert!(
        logon
            .to_string()
            .ends_with("; logon weekly Sunday 18:00:01 UTC - Friday 22:59:59 UTC")
    );
    // NonStopSession=Y wins over the times, as QuickFIX/J; no times at all is non-stop too.
    assert!(schedule("NonStopSession=Y\nStartTime=00:00:00\nEndTime=23:59:59").is_non_stop());
    assert!(schedule("").is_non_stop());
    assert!(!schedule("NonStopSession=N\nStartTime=00:00:00\nEndTime=00:00:00").is_non_stop());
    let weekdays = schedule("Weekdays=Mon,Wed,Fri\nStartTime=08:00:00\nEndTime=17:00:00");
    assert!(
        weekdays
            .to_string()
            .starts_with("on Monday,Wednesday,Friday 08:00:00 UTC")
    );
}
