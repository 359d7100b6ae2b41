//! Which of the 33 London authorities a buyer is: by slug, GSS code, local-authority code
//! (`GB-LAE` identifiers in OCDS) or name variant ("LB Newham", "Newham Council", "London
//! Borough of Hammersmith & Fulham", "Haringey Council - Traffic Management").
//!
//! Name variants and codes come from `london_authority_names.csv`: the London rows of mySociety's
//! "UK Local Authorities (including future)" data package (CC BY 4.0), joined to their GSS codes.
//! Names are matched exactly once case, punctuation, "the", "London Borough of", "Council" and
//! a trailing department (" - Traffic Management") are set aside; nothing looser, so "City of
//! Westminster College" and "Lewisham Homes" are not councils.

use std::collections::HashMap;

use diesel::prelude::*;

use super::normalize;
use crate::db::schema::boroughs;

const NAMES_CSV: &str = include_str!("london_authority_names.csv");

/// Well-known abbreviations that the name data does not hold.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("rbkc", "E09000020"),
    ("lbbd", "E09000002"),
    ("lbhf", "E09000013"),
    ("corporation of london", "E09000001"),
    ("city of london corporation", "E09000001"),
];

const PREFIXES: &[&str] = &[
    "the ",
    "mayor and burgesses of the london borough of ",
    "london borough of ",
    "royal borough of ",
    "borough of ",
    "lb of ",
    "lb ",
    "rb ",
    "council of the ",
];

const SUFFIXES: &[&str] = &[
    " london borough council",
    " borough council",
    " city council",
    " council",
    " london borough",
    " london boro",
];

/// A name reduced for matching: lower case, `&` as "and", other punctuation as spaces.
fn reduce(name: &str) -> String {
    normalize::fold(name)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The London authorities, from the `boroughs` table and the name data.
#[derive(Debug, Clone, Default)]
pub struct Authorities {
    by_name: HashMap<String, String>,
    by_code: HashMap<String, String>,
    by_gss: HashMap<String, String>,
    names: HashMap<String, String>,
}

impl Authorities {
    /// Loads the London authorities of the boroughs table (GSS codes E09...; UK-scale benchmark
    /// data adds others, which no import is for).
    pub fn load(conn: &mut PgConnection) -> QueryResult<Authorities> {
        let rows: Vec<(String, String, String, String)> = boroughs::table
            .filter(boroughs::gss_code.like("E09%"))
            .select((
                boroughs::id,
                boroughs::gss_code,
                boroughs::name,
                boroughs::official_name,
            ))
            .load(conn)?;
        Ok(Authorities::new(rows))
    }

    /// From `(id, gss_code, name, official_name)` rows.
    pub fn new(rows: Vec<(String, String, String, String)>) -> Authorities {
        let mut authorities = Authorities::default();
        for (id, gss, name, official) in rows {
            authorities.by_name.insert(reduce(&name), id.clone());
            authorities.by_name.insert(reduce(&official), id.clone());
            authorities.by_name.insert(reduce(&id), id.clone());
            authorities.by_gss.insert(gss, id.clone());
            authorities.names.insert(id, name);
        }
        let mut reader = csv::Reader::from_reader(NAMES_CSV.as_bytes());
        for row in reader.records().flatten() {
            let (Some(gss), Some(code), Some(name)) = (row.get(0), row.get(1), row.get(2)) else {
                continue;
            };
            if let Some(id) = authorities.by_gss.get(gss).cloned() {
                authorities.by_code.insert(code.to_owned(), id.clone());
                authorities.by_name.entry(reduce(name)).or_insert(id);
            }
        }
        for (name, gss) in ABBREVIATIONS {
            if let Some(id) = authorities.by_gss.get(*gss).cloned() {
                authorities.by_name.entry((*name).to_owned()).or_insert(id);
            }
        }
        authorities
    }

    /// The borough's display name.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// A borough given by slug, GSS code or name.
    pub fn resolve(&self, given: &str) -> Option<&str> {
        let given = given.trim();
        if self.names.contains_key(given) {
            return self.names.get_key_value(given).map(|(id, _)| id.as_str());
        }
        if let Some(id) = self.by_gss.get(&given.to_uppercase()) {
            return Some(id);
        }
        self.by_name(given)
    }

    /// The borough a buyer's name means, if it is one of the London authorities.
    pub fn by_name(&self, name: &str) -> Option<&str> {
        // "Haringey Council - Traffic Management", "Camden (Procurement)": the council is first.
        let mut bases = vec![name];
        for separator in [" - ", " – ", " — ", ": ", " : ", "(", ","] {
            if let Some((head, _)) = name.split_once(separator) {
                bases.push(head);
            }
        }
        for base in bases {
            let mut forms = vec![reduce(base)];
            // Strip one prefix and one suffix at a time, keeping every form seen.
            let mut next = 0;
            while next < forms.len() && forms.len() < 16 {
                let form = forms[next].clone();
                next += 1;
                if let Some(id) = self.by_name.get(&form) {
                    return Some(id);
                }
                let padded = format!("{form} ");
                for prefix in PREFIXES {
                    if let Some(rest) = padded.strip_prefix(prefix) {
                        forms.push(rest.trim().to_owned());
                    }
                }
                for suffix in SUFFIXES {
                    if let Some(rest) = form.strip_suffix(suffix) {
                        forms.push(rest.to_owned());
                    }
                }
            }
        }
        None
    }

    /// The borough an organisation identifier names: `GB-LAE` local-authority codes (`NWM`),
    /// in either OCDS form (`{"scheme": "GB-LAE", "id": "NWM"}` or a party id `GB-LAE-NWM`).
    pub fn by_identifier(&self, scheme: &str, id: &str) -> Option<&str> {
        let code = if scheme.eq_ignore_ascii_case("GB-LAE") {
            id
        } else {
            id.strip_prefix("GB-LAE-")?
        };
        self.by_code
            .get(&code.trim().to_uppercase())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> Authorities {
        let rows = [
            ("camden", "E09000007", "Camden", "London Borough of Camden"),
            ("newham", "E09000025", "Newham", "London Borough of Newham"),
            (
                "haringey",
                "E09000014",
                "Haringey",
                "London Borough of Haringey",
            ),
            (
                "westminster",
                "E09000033",
                "Westminster",
                "City of Westminster",
            ),
            (
                "city-of-london",
                "E09000001",
                "City of London",
                "City of London Corporation",
            ),
            (
                "kingston-upon-thames",
                "E09000021",
                "Kingston upon Thames",
                "Royal Borough of Kingston upon Thames",
            ),
            (
                "hammersmith-and-fulham",
                "E09000013",
                "Hammersmith and Fulham",
                "London Borough of Hammersmith and Fulham",
            ),
        ];
        Authorities::new(
            rows.iter()
                .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
                .collect(),
        )
    }

    #[test]
    fn name_variants_match() {
        let l = london();
        for (name, id) in [
            ("LB Newham", "newham"),
            ("Newham Council", "newham"),
            ("London Borough of Newham", "newham"),
            ("LONDON BOROUGH OF NEWHAM COUNCIL", "newham"),
            ("London Borough Of Camden Council", "camden"),
            ("Haringey Council - Traffic Management", "haringey"),
            ("Westminster City Council", "westminster"),
            ("City of Westminster", "westminster"),
            ("City of London Corporation", "city-of-london"),
            (
                "The Royal Borough of Kingston upon Thames",
                "kingston-upon-thames",
            ),
            (
                "London Borough of Hammersmith & Fulham",
                "hammersmith-and-fulham",
            ),
            ("LBHF", "hammersmith-and-fulham"),
        ] {
            assert_eq!(l.by_name(name), Some(id), "{name}");
        }
    }

    #[test]
    fn other_london_bodies_do_not_match() {
        let l = london();
        for name in [
            "City of Westminster College",
            "Lewisham Homes",
            "Homes for Haringey Limited",
            "Barnet Homes Ltd",
            "TRANSPORT FOR LONDON",
            "London Fire Brigade",
            "Greater London Authority",
            "Newham University Hospital",
            "Kingston upon Hull City Council",
        ] {
            assert_eq!(l.by_name(name), None, "{name}");
        }
    }

    #[test]
    fn codes_and_slugs_resolve() {
        let l = london();
        assert_eq!(l.by_identifier("GB-LAE", "NWM"), Some("newham"));
        assert_eq!(l.by_identifier("", "GB-LAE-CMD"), Some("camden"));
        assert_eq!(l.by_identifier("GB-COH", "NWM"), None);
        assert_eq!(l.resolve("camden"), Some("camden"));
        assert_eq!(l.resolve("e09000007"), Some("camden"));
        assert_eq!(l.resolve("Camden"), Some("camden"));
    }
}
