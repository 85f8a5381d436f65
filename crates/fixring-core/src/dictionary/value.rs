//! Field types and the formats QuickFIX accepts for them.

/// The type of a field, as the dictionary's `type` attribute names it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// INT, LENGTH, SEQNUM, TAGNUM, DAYOFMONTH: an optionally signed run of digits.
    Int,
    /// NUMINGROUP: the count of a repeating group's entries.
    NumInGroup,
    /// FLOAT, QTY, PRICE, PRICEOFFSET, AMT, PERCENTAGE: digits with an optional sign and
    /// decimal point.
    Float,
    /// CHAR: one character.
    Char,
    /// BOOLEAN: `Y` or `N`.
    Boolean,
    /// UTCTIMESTAMP: `YYYYMMDD-HH:MM:SS` with optional fractions of a second.
    UtcTimestamp,
    /// UTCTIMEONLY: `HH:MM:SS` with optional fractions of a second.
    UtcTimeOnly,
    /// UTCDATEONLY, UTCDATE, DATE: `YYYYMMDD`.
    UtcDateOnly,
    /// MULTIPLEVALUESTRING, MULTIPLESTRINGVALUE, MULTIPLECHARVALUE: words separated by
    /// spaces, each checked against the enumerated values.
    MultipleValue,
    /// Every other type (STRING, DATA, CURRENCY, MONTHYEAR, LOCALMKTDATE, …): any value.
    String,
}

impl FieldType {
    /// The type a dictionary's `type` attribute names; unknown names are [`FieldType::String`],
    /// as QuickFIX checks no format for them.
    pub fn from_name(name: &str) -> Self {
        match name {
            "INT" | "LENGTH" | "SEQNUM" | "TAGNUM" | "DAYOFMONTH" => Self::Int,
            "NUMINGROUP" => Self::NumInGroup,
            "FLOAT" | "QTY" | "PRICE" | "PRICEOFFSET" | "AMT" | "PERCENTAGE" => Self::Float,
            "CHAR" => Self::Char,
            "BOOLEAN" => Self::Boolean,
            "UTCTIMESTAMP" | "TIME" => Self::UtcTimestamp,
            "UTCTIMEONLY" => Self::UtcTimeOnly,
            "UTCDATEONLY" | "UTCDATE" | "DATE" => Self::UtcDateOnly,
            "MULTIPLEVALUESTRING" | "MULTIPLESTRINGVALUE" | "MULTIPLECHARVALUE" => {
                Self::MultipleValue
            }
            _ => Self::String,
        }
    }

    /// Whether a value of this type is a list of space-separated words.
    pub fn is_multiple_value(self) -> bool {
        self == Self::MultipleValue
    }

    /// Whether `value` has this type's format, as QuickFIX's converters read it.
    pub fn accepts(self, value: &[u8]) -> bool {
        match self {
            Self::Int => is_int(value),
            Self::NumInGroup => !value.is_empty() && value.iter().all(u8::is_ascii_digit),
            Self::Float => is_float(value),
            Self::Char => value.len() == 1,
            Self::Boolean => value == b"Y" || value == b"N",
            Self::UtcTimestamp => match value.split_at_checked(8) {
                Some((date, [b'-', time @ ..])) => is_date(date) && is_time(time),
                _ => false,
            },
            Self::UtcTimeOnly => is_time(value),
            Self::UtcDateOnly => is_date(value),
            Self::MultipleValue | Self::String => true,
        }
    }
}

fn is_int(value: &[u8]) -> bool {
    let digits = value.strip_prefix(b"-").unwrap_or(value);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn is_float(value: &[u8]) -> bool {
    let number = value.strip_prefix(b"-").unwrap_or(value);
    let mut digits = 0;
    let mut points = 0;
    for &b in number {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1
}

fn two_digits(value: &[u8], max: u8) -> bool {
    match value {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => (a - b'0') * 10 + (b - b'0') <= max,
        _ => false,
    }
}

/// `YYYYMMDD`.
fn is_date(value: &[u8]) -> bool {
    match value {
        [year @ .., m1, m2, d1, d2] if year.len() == 4 => {
            year.iter().all(u8::is_ascii_digit)
                && two_digits(&[*m1, *m2], 12)
                && two_digits(&[*d1, *d2], 31)
                && [*m1, *m2] != *b"00"
                && [*d1, *d2] != *b"00"
        }
        _ => false,
    }
}

/// `HH:MM:SS`, then optionally `.` and one to nine digits. A leap second (60) is allowed.
fn is_time(value: &[u8]) -> bool {
    let Some((hms, fraction)) = value.split_at_checked(8) else {
        return false;
    };
    let clock = match hms {
        [h1, h2, b':', m1, m2, b':', s1, s2] => {
            two_digits(&[*h1, *h2], 23)
                && two_digits(&[*m1, *m2], 59)
                && two_digits(&[*s1, *s2], 60)
        }
        _ => false,
    };
    let fraction_ok = match fraction {
        [] => true,
        [b'.', digits @ ..] => {
            (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    clock && fraction_ok
}

#[cfg(test)]
mod tests {
    use super::FieldType;

    #[test]
    fn formats_as_quickfix_reads_them() {
        let cases: &[(FieldType, &[u8], bool)] = &[
            (FieldType::Int, b"-12", true),
            (FieldType::Int, b"+12", false),
            (FieldType::Int, b"1.0", false),
            (FieldType::Float, b"002000.00", true),
            (FieldType::Float, b"+200.00", false),
            (FieldType::Float, b"1e5", false),
            (FieldType::Float, b".5", true),
            (FieldType::Float, b".", false),
            (FieldType::Char, b"AB", false),
            (FieldType::Boolean, b"Y", true),
            (FieldType::Boolean, b"y", false),
            (FieldType::UtcTimestamp, b"20040415-10:11:12.123", true),
            (FieldType::UtcTimestamp, b"20040415-10:11:12", true),
            (FieldType::UtcTimestamp, b"20040415", false),
            (FieldType::UtcTimestamp, b"20041315-10:11:12", false),
            (FieldType::UtcTimeOnly, b"24:00:00", false),
            (FieldType::UtcDateOnly, b"20040415", true),
            (FieldType::NumInGroup, b"-1", false),
        ];
        for &(kind, value, ok) in cases {
            assert_eq!(
                kind.accepts(value),
                ok,
                "{kind:?} {:?}",
                String::from_utf8_lossy(value)
            );
        }
    }
}
