//! The insights' bounded whole-number parameters, each read from its text and checked once.

use serde::Deserialize;

/// Declares a whole number from `$min` to `$max`, read from its text.
macro_rules! bounded_number {
    ($(#[$meta:meta])* $name:ident, $min:literal..=$max:literal, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub u32);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                match text.trim().parse::<u32>() {
                    Ok(value) if ($min..=$max).contains(&value) => Ok($name(value)),
                    _ => Err(serde::de::Error::custom(format!(
                        concat!("expected ", $what, " from ", $min, " to ", $max, ", got {:?}"),
                        text
                    ))),
                }
            }
        }
    };
}

bounded_number!(
    /// A window length in months, 1 to 120.
    WindowMonths, 1..=120, "a number of months"
);
bounded_number!(
    /// A small count, 1 to 100 (boroughs, suppliers...).
    SmallCount, 1..=100, "a whole number"
);
bounded_number!(
    /// A confidence level, 1 to 5, as the assessments rate it.
    ConfidenceLevel, 1..=5, "a confidence level"
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer;

    fn read<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
        let deserializer: StrDeserializer<'_, Error> = text.into_deserializer();
        T::deserialize(deserializer).map_err(|e| e.to_string())
    }

    #[test]
    fn the_bounds_are_inclusive() {
        assert_eq!(read::<WindowMonths>("1"), Ok(WindowMonths(1)));
        assert_eq!(read::<WindowMonths>(" 120 "), Ok(WindowMonths(120)));
        assert_eq!(read::<SmallCount>("100"), Ok(SmallCount(100)));
        assert_eq!(read::<ConfidenceLevel>("5"), Ok(ConfidenceLevel(5)));
    }

    #[test]
    fn out_of_bounds_or_not_a_number_names_the_range() {
        assert_eq!(
            read::<WindowMonths>("121"),
            Err("expected a number of months from 1 to 120, got \"121\"".into())
        );
        assert_eq!(
            read::<SmallCount>("0"),
            Err("expected a whole number from 1 to 100, got \"0\"".into())
        );
        assert_eq!(
            read::<ConfidenceLevel>("high"),
            Err("expected a confidence level from 1 to 5, got \"high\"".into())
        );
    }
}
