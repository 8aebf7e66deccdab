//! Timestamps at the start of log lines, as seconds since the Unix epoch.
//!
//! Two formats occur: the classic syslog stamp `Nov 26 14:51:23` (rsyslog's default on Debian,
//! RHEL's maillog, `journalctl`'s default output), which has no year and is in the machine's local
//! time, and RFC 3339 (`2026-11-26T14:51:23.123456+00:00`, rsyslog's high-precision format;
//! `journalctl -o short-iso` writes `+0000`). The year of a classic stamp is inferred from "now":
//! a stamp that would lie more than a day in the future belongs to the previous year, which is
//! what makes a December line read in January land in the right year.
use std::time::{SystemTime, UNIX_EPOCH};

/// How classic (year-less, zone-less) stamps are turned into absolute times.
#[derive(Clone, Debug)]
pub(crate) enum Zone {
    /// A fixed offset, seconds east of UTC (tests; logs copied from another machine).
    Fixed(i32),
    /// A time zone with its rules (DST), resolved once: the machine's (`TZ`, /etc/localtime)
    /// or a `--root` tree's. Converting is arithmetic on the loaded rules: no system call and
    /// no lock per stamp, so the scanning threads never wait for each other here.
    Tz(jiff::tz::TimeZone),
}

impl Zone {
    /// This machine's zone: `TZ` when set, else /etc/localtime (jiff's `TimeZone::system`);
    /// UTC when neither can be read.
    pub(crate) fn system() -> Zone {
        Zone::Tz(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
    }

    /// The zone a system installed under `root` writes its syslog stamps in: `TZ` when set
    /// (the admin said so), else `root`'s etc/localtime when it is a TZif file, else this
    /// machine's. For `/` this is [`Zone::system`].
    pub(crate) fn for_root(root: &std::path::Path) -> Zone {
        if root == std::path::Path::new("/") || std::env::var_os("TZ").is_some() {
            return Zone::system();
        }
        let file = root.join("etc/localtime");
        // A link into the tree's zoneinfo (absolute, as on a real system) is resolved in the
        // tree: /usr/share/zoneinfo/Europe/Berlin is ROOT/usr/share/zoneinfo/Europe/Berlin.
        let data = match std::fs::read_link(&file) {
            Ok(target) if target.is_absolute() => {
                let inside = root.join(target.strip_prefix("/").unwrap_or(&target));
                std::fs::read(&inside).or_else(|_| std::fs::read(&target))
            }
            _ => std::fs::read(&file),
        };
        match data
            .ok()
            .and_then(|d| jiff::tz::TimeZone::tzif("localtime", &d).ok())
        {
            Some(tz) => Zone::Tz(tz),
            None => Zone::system(),
        }
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses stamps relative to a given "now".
#[derive(Clone)]
pub(crate) struct Clock {
    zone: Zone,
    now: i64,
    now_year: i64,
    /// Last classic conversion: (month, day, hour, minute) → epoch of that minute this year
    /// and last year. Lines come in order, so this one entry saves most conversions (cheap as
    /// they are with jiff: a binary search in the zone's transitions).
    cache: Option<(MinuteKey, (i64, i64))>,
    /// The first 12 bytes (`Mmm dd hh:mm`) of the last classic stamp read in full, and what
    /// `cache` held for it: a stamp of the same minute is then read from its seconds alone
    /// (at 10% refusals a refusal's stamp differs from the last one read every third time).
    minute: Option<([u8; 12], (i64, i64))>,
    /// The last classic stamp read (its 15 bytes) and what it gave: log lines come many to a
    /// second, and comparing 15 bytes is cheaper than reading them (at 10% refusals, reading
    /// each refusal's stamp was 2% of the instructions).
    last_stamp: Option<([u8; 15], i64)>,
}

/// (month, day, hour, minute) of a classic stamp. Per minute, not per hour: a few zones
/// change their offset at the half hour.
type MinuteKey = (u32, u32, u32, u32);

impl Clock {
    pub(crate) fn new(zone: Zone, now: SystemTime) -> Clock {
        let mut c = Clock {
            zone,
            now: 0,
            now_year: 1970,
            cache: None,
            minute: None,
            last_stamp: None,
        };
        c.set_now(epoch_secs(now));
        c
    }

    pub(crate) fn set_now(&mut self, now: i64) {
        self.now = now;
        self.now_year = self.civil(now).0;
        self.cache = None;
        self.minute = None;
        self.last_stamp = None;
    }

    /// The timestamp at the start of `line`, if it has one of the two formats.
    pub(crate) fn parse(&mut self, line: &[u8]) -> Option<i64> {
        match line.first()? {
            b'0'..=b'9' => parse_rfc3339(line),
            _ => self.parse_classic(line),
        }
    }

    fn parse_classic(&mut self, line: &[u8]) -> Option<i64> {
        let stamp: &[u8; 15] = line.get(..15)?.try_into().ok()?;
        if let Some((last, t)) = &self.last_stamp {
            if last == stamp {
                return Some(*t);
            }
        }
        let t = self.read_classic(stamp)?;
        self.last_stamp = Some((*stamp, t));
        Some(t)
    }

    /// [`Clock::parse_classic`] of a line's first 15 bytes, without the last stamp's shortcut.
    fn read_classic(&mut self, line: &[u8; 15]) -> Option<i64> {
        if let Some((prefix, (this_year, last_year))) = self.minute {
            // The same month, day, hour and minute as a stamp that read well: only what
            // follows them is left to check (as `hms` does).
            if line[..12] == prefix && line[12] == b':' {
                let s = digits(&line[13..15]).filter(|&s| s <= 60)?;
                return Some(self.this_or_last_year(this_year, last_year, s));
            }
        }
        if line[3] != b' ' || line[6] != b' ' {
            return None;
        }
        let month = MONTHS.iter().position(|m| m[..] == line[..3])? as u32 + 1;
        // The day is space-padded ("Nov  6") by syslog, zero-padded by some others.
        let day = match line[4] {
            b' ' => digits(&line[5..6])?,
            _ => digits(&line[4..6])?,
        };
        let (h, m, s) = hms(&line[7..15])?;
        if !(1..=31).contains(&day) {
            return None;
        }
        let key = (month, day, h, m);
        let (this_year, last_year) = match self.cache {
            Some((k, v)) if k == key => v,
            _ => {
                let v = (
                    self.local_to_epoch(self.now_year, month, day, h, m)?,
                    self.local_to_epoch(self.now_year - 1, month, day, h, m)?,
                );
                self.cache = Some((key, v));
                v
            }
        };
        let mut prefix = [0u8; 12];
        prefix.copy_from_slice(&line[..12]);
        self.minute = Some((prefix, (this_year, last_year)));
        Some(self.this_or_last_year(this_year, last_year, s))
    }

    /// Second `s` of the minute that starts at `this_year` (or at `last_year`, a year earlier).
    fn this_or_last_year(&self, this_year: i64, last_year: i64, s: u32) -> i64 {
        let ms = i64::from(s);
        if this_year + ms > self.now + 86_400 {
            // In the future: the line was written last year (read in January, written in December).
            return last_year + ms;
        }
        this_year + ms
    }

    /// Epoch of `year-month-day hour:minute:00` in this clock's zone. A day past the end of
    /// the month rolls over into the next (Feb 29 of a common year is Mar 1), as `mktime` did.
    ///
    /// In the hour that is repeated when DST ends (a fold) the stamp could be either; it is
    /// taken as the first of the two, the offset before the transition (jiff's "compatible"
    /// rule, also what glibc's mktime gives). In the hour that is skipped when DST starts (a
    /// gap; only a clock set by hand writes one) it is moved forward by the gap.
    fn local_to_epoch(&self, year: i64, month: u32, day: u32, hour: u32, min: u32) -> Option<i64> {
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + min * 60);
        match &self.zone {
            Zone::Fixed(off) => Some(secs - i64::from(*off)),
            Zone::Tz(tz) => {
                let (y, mo, d) = civil_from_days(days);
                let dt = jiff::civil::DateTime::new(
                    i16::try_from(y).ok()?,
                    mo as i8,
                    d as i8,
                    hour as i8,
                    min as i8,
                    0,
                    0,
                )
                .ok()?;
                let ts = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
                Some(ts.as_second())
            }
        }
    }

    /// (year, month, day, hour, minute, second, offset east of UTC) of `t` in this clock's zone.
    fn broken_down(&self, t: i64) -> (i64, u32, u32, u32, u32, u32, i64) {
        let off = match &self.zone {
            Zone::Fixed(off) => i64::from(*off),
            Zone::Tz(tz) => jiff::Timestamp::from_second(t)
                .map_or(0, |ts| i64::from(tz.to_offset(ts).seconds())),
        };
        let local = t + off;
        let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
        let s = local.rem_euclid(86_400) as u32;
        (y, mo, d, s / 3600, s / 60 % 60, s % 60, off)
    }

    fn civil(&self, t: i64) -> (i64, u32, u32) {
        let (y, mo, d, ..) = self.broken_down(t);
        (y, mo, d)
    }

    /// RFC 3339 in this clock's zone, e.g. `2026-11-26T14:08:55+00:00`.
    ///
    /// Written digit by digit: a report with every cap full formats 20,000 of these at the end
    /// of the scan, and `format!` with its eight padded numbers was a visible part of that.
    /// Years outside 0-9999 (which no log has, but a clock can compute) go through `format!`.
    pub(crate) fn format(&self, t: i64) -> String {
        let (y, mo, d, h, mi, s, off) = self.broken_down(t);
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.abs();
        let (oh, om) = (off / 3600, off / 60 % 60);
        let Some(year) = u32::try_from(y).ok().filter(|y| *y <= 9999 && oh < 100) else {
            return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{oh:02}:{om:02}");
        };
        let mut out = String::with_capacity(25);
        let mut two = |n: u32, after: Option<char>| {
            out.push(char::from(b'0' + (n / 10 % 10) as u8));
            out.push(char::from(b'0' + (n % 10) as u8));
            out.extend(after);
        };
        two(year / 100, None);
        two(year % 100, Some('-'));
        two(mo, Some('-'));
        two(d, Some('T'));
        two(h, Some(':'));
        two(mi, Some(':'));
        two(s, Some(sign));
        two(oh as u32, Some(':'));
        two(om as u32, None);
        out
    }
}

pub(crate) fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `HH:MM:SS`
fn hms(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    // 60 is a leap second.
    (h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|+HHMM)`; a space instead of `T` is accepted too.
fn parse_rfc3339(line: &[u8]) -> Option<i64> {
    if line.len() < 20 || line[4] != b'-' || line[7] != b'-' || !matches!(line[10], b'T' | b' ') {
        return None;
    }
    let year = i64::from(digits(&line[0..4])?);
    let month = digits(&line[5..7])?;
    let day = digits(&line[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (h, m, s) = hms(&line[11..19])?;
    let mut i = 19;
    if line.get(i) == Some(&b'.') {
        i += 1;
        while line.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let off = match line.get(i)? {
        b'Z' | b'z' => 0,
        &sign @ (b'+' | b'-') => {
            let rest = &line[i + 1..];
            let (oh, om) = if rest.len() >= 5 && rest[2] == b':' {
                (digits(&rest[0..2])?, digits(&rest[3..5])?)
            } else if rest.len() >= 4 {
                (digits(&rest[0..2])?, digits(&rest[2..4])?)
            } else {
                return None;
            };
            let off = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86_400 + i64::from(h * 3600 + m * 60 + s) - off)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(t as u64)
    }

    /// The digit-by-digit [`Clock::format`] against the `format!` it replaced, over many
    /// times (years before 0 and after 9999 included) in fixed zones east and west, and in a
    /// zone with daylight saving time.
    #[test]
    fn format_writes_what_format_macro_wrote() {
        let reference = |c: &Clock, t: i64| {
            let (y, mo, d, h, mi, s, off) = c.broken_down(t);
            let sign = if off < 0 { '-' } else { '+' };
            let off = off.abs();
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{:02}:{:02}",
                off / 3600,
                off / 60 % 60
            )
        };
        let mut zones: Vec<Zone> = [0, 1, -1, 3600, -3600, 19_800, -34_200, 45_900, 93_599]
            .into_iter()
            .chain([-93_599, 400_000, -400_000])
            .map(Zone::Fixed)
            .collect();
        zones.push(Zone::Tz(
            jiff::tz::TimeZone::get("Europe/Berlin").expect("tzdata is installed"),
        ));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for zone in zones {
            let c = Clock::new(zone, at(1_795_705_200));
            let mut times = vec![0, -1, 1_795_705_200, 253_402_300_799, 253_402_300_800];
            times.extend([-62_167_219_200, -62_167_219_201, i64::from(i32::MAX) * 50]);
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Within about +-10,000 years of 1970.
                times.push((x % 630_000_000_000) as i64 - 315_000_000_000);
            }
            for t in times {
                assert_eq!(c.format(t), reference(&c, t), "t = {t}");
            }
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 11_016, 20_000, 20_513, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn classic_stamp_in_fixed_zone() {
        // 2026-11-26T15:00:00Z
        let now = days_from_civil(2026, 11, 26) * 86_400 + 15 * 3600;
        let mut c = Clock::new(Zone::Fixed(0), at(now));
        let t = c.parse(b"Nov 26 14:08:55 mailsrv sm-mta[1]: x").unwrap();
        assert_eq!(t, now - 3600 + 8 * 60 + 55);
        assert_eq!(c.format(t), "2026-11-26T14:08:55+00:00");
        // Space-padded day.
        let t = c.parse(b"Nov  6 00:00:00 h x").unwrap();
        assert_eq!(c.format(t), "2026-11-06T00:00:00+00:00");
        // An offset east of UTC: local 14:08:55 at +02:00 is 12:08:55Z.
        let mut c = Clock::new(Zone::Fixed(7200), at(now));
        let t = c.parse(b"Nov 26 14:08:55 h x").unwrap();
        assert_eq!(
            t,
            days_from_civil(2026, 11, 26) * 86_400 + 12 * 3600 + 8 * 60 + 55
        );
        assert_eq!(c.format(t), "2026-11-26T14:08:55+02:00");
    }

    proptest::proptest! {
        /// A stamp read again (the last one's shortcut), or one of the minute last read, gives
        /// what reading it gives, also after "now" moves (which can move a stamp to last year),
        /// in a zone with DST, and when what follows the minute is not a stamp's.
        #[test]
        fn last_stamp_shortcut_is_reading_it(ops in proptest::collection::vec(
            (0..14usize, proptest::option::weighted(0.1, 0..400_000_000i64)), 0..60),
            berlin in proptest::bool::ANY,
        ) {
            const STAMPS: [&[u8]; 14] = [
                b"Nov 26 14:08:55 h x", b"Nov 26 14:08:55 other host", b"Nov 26 14:08:56 h x",
                b"Dec 31 23:59:59 h x", b"Jan  1 00:10:00 h x", b"Mar 29 02:30:00 h x",
                b"Feb 29 12:00:00 h x", b"Nov 26 14:08:5", b"Foo 26 14:08:55 h x",
                b"Nov 26 14:08:60 h x", b"Nov 26 14:08:61 h x", b"Nov 26 14:08:5x h x",
                b"Nov 26 14:08-55 h x", b"Dec 31 23:59:00 h x",
            ];
            let zone = || if berlin {
                Zone::Tz(jiff::tz::TimeZone::get("Europe/Berlin").expect("zone"))
            } else {
                Zone::Fixed(-18_000)
            };
            let start = days_from_civil(2026, 11, 26) * 86_400;
            let mut fast = Clock::new(zone(), at(start));
            let mut read = Clock::new(zone(), at(start));
            for (i, now) in ops {
                if let Some(n) = now {
                    fast.set_now(start + n);
                    read.set_now(start + n);
                }
                read.last_stamp = None;
                read.minute = None;
                proptest::prop_assert_eq!(fast.parse(STAMPS[i]), read.parse(STAMPS[i]));
            }
        }
    }

    #[test]
    fn december_lines_read_in_january_are_last_year() {
        let now = days_from_civil(2027, 1, 1) * 86_400 + 30 * 60; // 2027-01-01T00:30Z
        let mut c = Clock::new(Zone::Fixed(0), at(now));
        let dec = c.parse(b"Dec 31 23:59:59 h x").unwrap();
        assert_eq!(c.format(dec), "2026-12-31T23:59:59+00:00");
        let jan = c.parse(b"Jan  1 00:10:00 h x").unwrap();
        assert_eq!(c.format(jan), "2027-01-01T00:10:00+00:00");
        assert!(dec < jan);
    }

    #[test]
    fn rfc3339_variants() {
        let base = days_from_civil(2026, 11, 26) * 86_400 + 14 * 3600 + 51 * 60 + 23;
        let mut c = Clock::new(Zone::Fixed(3600), at(base));
        assert_eq!(c.parse(b"2026-11-26T14:51:23.123456+00:00 h x"), Some(base));
        assert_eq!(c.parse(b"2026-11-26T14:51:23+0000 h x"), Some(base));
        assert_eq!(c.parse(b"2026-11-26T14:51:23Z h x"), Some(base));
        assert_eq!(c.parse(b"2026-11-26T15:51:23+01:00 h x"), Some(base));
        assert_eq!(c.parse(b"2026-11-26T09:51:23.5-05:00 h x"), Some(base));
        assert_eq!(c.parse(b"2026-11-26T14:51:23 h x"), None);
        assert_eq!(c.parse(b"-- Boot 1234 --"), None);
        assert_eq!(c.parse(b"Foo 26 14:51:23 h x"), None);
    }
}
