//! Durations on the command line (`90s`, `30m`, `1h30m`, `7d`, plain seconds) and in tables.

const UNITS: [(&[&str], i64); 5] = [
    (&["s", "sec", "secs", "second", "seconds"], 1),
    (&["m", "min", "mins", "minute", "minutes"], 60),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600),
    (&["d", "day", "days"], 86_400),
    (&["w", "week", "weeks"], 604_800),
];

const EXPECTED: &str = "expected e.g. 90s, 30m, 8h, 7d, 1h30m or a number of seconds";

/// Parses a duration into whole seconds, the unit of the admin API.
pub fn parse_seconds(input: &str) -> Result<i64, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(format!("empty duration: {EXPECTED}"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("duration {input:?} is too long"));
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("invalid duration {input:?}: {EXPECTED}"));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("duration {input:?} is too long"))?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..letters];
        if unit.is_empty() {
            return Err(format!(
                "invalid duration {input:?}: {number} needs a unit (s, m, h, d or w)"
            ));
        }
        let Some((_, factor)) = UNITS.iter().find(|(names, _)| names.contains(&unit)) else {
            return Err(format!(
                "invalid duration {input:?}: unknown unit {unit:?} (use s, m, h, d or w)"
            ));
        };
        total = number
            .checked_mul(*factor)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("duration {input:?} is too long"))?;
        rest = rest[letters..].trim_start();
    }
    Ok(total)
}

/// Formats seconds compactly for people: `28800` -> `8h`, `5400` -> `1h30m`.
pub fn format_seconds(seconds: i64) -> String {
    if seconds <= 0 {
        return format!("{seconds}s");
    }
    let mut rest = seconds;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let count = rest / size;
        if count > 0 {
            out.push_str(&format!("{count}{unit}"));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_plain_seconds() {
        assert_eq!(parse_seconds("90s"), Ok(90));
        assert_eq!(parse_seconds("30m"), Ok(1_800));
        assert_eq!(parse_seconds("8h"), Ok(28_800));
        assert_eq!(parse_seconds("7d"), Ok(604_800));
        assert_eq!(parse_seconds("2w"), Ok(1_209_600));
        assert_eq!(parse_seconds("1h30m"), Ok(5_400));
        assert_eq!(parse_seconds("1h 30m 15s"), Ok(5_415));
        assert_eq!(parse_seconds("2 hours"), Ok(7_200));
        assert_eq!(parse_seconds("3600"), Ok(3_600));
        assert_eq!(parse_seconds(" 0 "), Ok(0));
    }

    #[test]
    fn refuses_bad_durations_with_a_reason() {
        for bad in ["", "h", "-5s", "1.5h", "1h30", "10y", "5 parsecs", "1h-"] {
            assert!(parse_seconds(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(
            parse_seconds("10y")
                .unwrap_err()
                .contains("unknown unit \"y\"")
        );
        assert!(
            parse_seconds("1h30")
                .unwrap_err()
                .contains("30 needs a unit")
        );
        assert!(
            parse_seconds("99999999999999999999")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_seconds("9999999999999999w")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn formats_compactly_and_round_trips() {
        assert_eq!(format_seconds(0), "0s");
        assert_eq!(format_seconds(45), "45s");
        assert_eq!(format_seconds(5_400), "1h30m");
        assert_eq!(format_seconds(28_800), "8h");
        assert_eq!(format_seconds(694_861), "8d1h1m1s");
        for secs in [1, 59, 61, 3_599, 86_401, 1_209_600] {
            assert_eq!(parse_seconds(&format_seconds(secs)), Ok(secs));
        }
    }
}
