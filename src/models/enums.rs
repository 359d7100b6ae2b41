//! Closed sets of values, stored as text and checked by the database.

use std::fmt;
use std::str::FromStr;

/// A value outside a closed set, with the values that are allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    pub value: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown value {:?}; expected one of {}",
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownVariant {}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value as stored and sent.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The value as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant { value: value.to_owned(), expected: Self::NAMES }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// The legal form of an authority.
    BoroughKind {
        LondonBorough => "london_borough",
        RoyalBorough => "royal_borough",
        CityCouncil => "city_council",
        CityCorporation => "city_corporation",
        /// Outside London (UK-scale data).
        CountyCouncil => "county_council",
        DistrictCouncil => "district_council",
        UnitaryAuthority => "unitary_authority",
        MetropolitanBorough => "metropolitan_borough",
    }
}

text_enum! {
    /// Where a system runs.
    Hosting {
        OnPremises => "on_premises",
        SupplierHosted => "supplier_hosted",
        PublicCloud => "public_cloud",
        Saas => "saas",
        Hybrid => "hybrid",
        Unknown => "unknown",
    }
}

text_enum! {
    /// How a contract was procured.
    ProcurementRoute {
        OpenTender => "open_tender",
        Framework => "framework",
        DirectAward => "direct_award",
        JointProcurement => "joint_procurement",
        Unknown => "unknown",
    }
}

text_enum! {
    /// Whether the borough can get its own data out without paying extra.
    DataAccess {
        Included => "included",
        Charged => "charged",
        Unavailable => "unavailable",
        Unknown => "unknown",
    }
}

text_enum! {
    /// Where a contract record came from.
    Source {
        Survey => "survey",
        OpenData => "open_data",
        Manual => "manual",
        /// Generated for demonstration; not real survey data.
        Illustrative => "illustrative",
    }
}

text_enum! {
    /// What an API key may do.
    Role {
        /// Every write and every read.
        Admin => "admin",
        /// Writes the contracts of one borough and reads assessments.
        Borough => "borough",
        /// Reads assessments; writes nothing.
        Reader => "reader",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for hosting in Hosting::ALL {
            assert_eq!(hosting.as_str().parse::<Hosting>().unwrap(), *hosting);
        }
        assert_eq!(Hosting::ALL.len(), Hosting::NAMES.len());
    }

    #[test]
    fn serde_name_matches_stored_name() {
        for route in ProcurementRoute::ALL {
            let json = serde_json::to_string(route).unwrap();
            assert_eq!(json, format!("\"{}\"", route.as_str()));
        }
    }

    #[test]
    fn unknown_value_lists_the_allowed_ones() {
        let error = "cloud".parse::<Hosting>().unwrap_err();
        assert!(error.to_string().contains("saas"));
    }
}
