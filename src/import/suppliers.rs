//! Matching supplier names from source data to suppliers: by Companies House number, then by
//! the normalised name (case, punctuation and legal suffixes set aside) against every supplier's
//! name and aliases. A name that matches nothing becomes a new supplier, planned here and
//! created by the runner.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::normalize;
use crate::db::schema::{supplier_aliases, suppliers, systems};

/// What the source says about a supplier besides its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupplierFacts {
    /// Eight letters or digits, when the source gives a valid one.
    pub companies_house_number: Option<String>,
    pub sme: Option<bool>,
}

impl SupplierFacts {
    /// A Companies House number as sources write it ("1234567", "01234567", "SC123456").
    pub fn companies_house(number: &str) -> Option<String> {
        let number: String = number
            .trim()
            .to_uppercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let number =
            if !number.is_empty() && number.len() < 8 && number.bytes().all(|b| b.is_ascii_digit())
            {
                format!("{number:0>8}")
            } else {
                number
            };
        let valid = number.len() == 8
            && number
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && number.bytes().any(|b| b != b'0');
        valid.then_some(number)
    }
}

/// A supplier to be created by this import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportedSupplier)]
pub struct NewSupplier {
    #[schema(example = "eurovia-infrastructure")]
    pub id: String,
    /// The name as the file first spells it.
    #[schema(example = "Eurovia Infrastructure")]
    pub name: String,
    /// The first row that names it.
    pub row: usize,
    #[serde(skip)]
    pub normalized: String,
    #[serde(skip)]
    pub facts: SupplierFacts,
}

/// Every supplier, for matching the names in one file.
#[derive(Debug, Clone, Default)]
pub struct SupplierIndex {
    by_name: HashMap<String, String>,
    /// The same names by their skeletons (see [`skeleton`]).
    by_skeleton: HashMap<String, String>,
    by_company: HashMap<String, String>,
    ids: HashSet<String>,
    /// Suppliers with products in the catalogue: a contract with one is technology.
    software: HashSet<String>,
    names: HashMap<String, String>,
    /// Suppliers this file introduces, in the order first seen.
    pub new: Vec<NewSupplier>,
    new_by_name: HashMap<String, usize>,
}

/// Where a name led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub id: String,
    /// True when the supplier is one this import creates.
    pub new: bool,
}

/// The UTS #39 skeleton of a normalized name: names that look alike (Latin and Cyrillic
/// letters, `0` and `o`, ...) have the same one.
fn skeleton(normalized: &str) -> String {
    unicode_security::confusable_detection::skeleton(normalized).collect()
}

impl SupplierIndex {
    pub fn load(conn: &mut PgConnection) -> QueryResult<SupplierIndex> {
        let rows: Vec<(String, String, Option<String>)> = suppliers::table
            .select((
                suppliers::id,
                suppliers::name,
                suppliers::companies_house_number,
            ))
            .load(conn)?;
        let aliases: Vec<(String, String)> = supplier_aliases::table
            .select((supplier_aliases::supplier_id, supplier_aliases::normalized))
            .load(conn)?;
        let vendors: Vec<String> = systems::table
            .select(systems::supplier_id)
            .distinct()
            .load(conn)?;
        Ok(SupplierIndex::new(rows, aliases, vendors))
    }

    /// From `(id, name, companies_house_number)`, `(supplier_id, normalized alias)` and the
    /// ids of suppliers with systems.
    pub fn new(
        rows: Vec<(String, String, Option<String>)>,
        aliases: Vec<(String, String)>,
        vendors: Vec<String>,
    ) -> SupplierIndex {
        let mut index = SupplierIndex::default();
        // Aliases first: a registered alias wins over another supplier's name.
        for (id, normalized) in aliases {
            index.by_name.entry(normalized).or_insert(id);
        }
        for (id, name, company) in rows {
            index
                .by_name
                .entry(normalize::supplier_name(&name))
                .or_insert_with(|| id.clone());
            index
                .by_name
                .entry(id.replace('-', " "))
                .or_insert_with(|| id.clone());
            if let Some(company) = company {
                index.by_company.insert(company, id.clone());
            }
            index.ids.insert(id.clone());
            index.names.insert(id, name);
        }
        index.software = vendors.into_iter().collect();
        index.by_skeleton = index
            .by_name
            .iter()
            .map(|(name, id)| (skeleton(name), id.clone()))
            .collect();
        index
    }

    /// The existing supplier a name (and number) means, if any.
    pub fn find(&self, name: &str, facts: &SupplierFacts) -> Option<&str> {
        if let Some(id) = facts
            .companies_house_number
            .as_ref()
            .and_then(|n| self.by_company.get(n))
        {
            return Some(id);
        }
        let normalized = normalize::supplier_name(name);
        self.by_name
            .get(&normalized)
            // A name that only looks like a known one ("Civіca", with a Cyrillic і) is that one.
            .or_else(|| self.by_skeleton.get(&skeleton(&normalized)))
            .map(String::as_str)
    }

    /// Whether the supplier sells systems in the catalogue.
    pub fn is_software(&self, id: &str) -> bool {
        self.software.contains(id)
    }

    /// The supplier's name, for a new one too.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.names.get(id).map(String::as_str).or_else(|| {
            self.new
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.name.as_str())
        })
    }

    /// The supplier a name means, planning a new one when nothing matches. None when the name
    /// has no letters or digits.
    pub fn resolve(&mut self, name: &str, facts: &SupplierFacts, row: usize) -> Option<Matched> {
        if let Some(id) = self.find(name, facts) {
            return Some(Matched {
                id: id.to_owned(),
                new: false,
            });
        }
        let normalized = normalize::supplier_name(name);
        if normalized.is_empty() {
            return None;
        }
        if let Some(i) = self.new_by_name.get(&skeleton(&normalized)) {
            return Some(Matched {
                id: self.new[*i].id.clone(),
                new: true,
            });
        }
        let id = self.free_id(&normalize::slug(&normalized));
        self.ids.insert(id.clone());
        self.new_by_name
            .insert(skeleton(&normalized), self.new.len());
        self.new.push(NewSupplier {
            id: id.clone(),
            name: normalize::clean_text(name)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            row,
            normalized,
            facts: facts.clone(),
        });
        Some(Matched { id, new: true })
    }

    fn free_id(&self, base: &str) -> String {
        let base = if base.is_empty() { "supplier" } else { base };
        if !self.ids.contains(base) {
            return base.to_owned();
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !self.ids.contains(id))
            .expect("some suffix is free")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SupplierIndex {
        SupplierIndex::new(
            vec![
                ("civica".into(), "Civica".into(), None),
                ("idox".into(), "Idox".into(), Some("02933889".into())),
                ("eurovia".into(), "Eurovia".into(), None),
            ],
            vec![("civica".into(), "civica services".into())],
            vec!["civica".into()],
        )
    }

    #[test]
    fn names_match_through_normalisation_and_aliases() {
        let index = index();
        let none = SupplierFacts::default();
        assert_eq!(index.find("CIVICA UK LIMITED", &none), Some("civica"));
        assert_eq!(index.find("Civica Services Ltd.", &none), Some("civica"));
        assert_eq!(index.find("Acme", &none), None);
        let numbered = SupplierFacts {
            companies_house_number: SupplierFacts::companies_house("2933889"),
            sme: None,
        };
        assert_eq!(index.find("IDOX SOFTWARE LTD", &numbered), Some("idox"));
        assert!(index.is_software("civica") && !index.is_software("idox"));
    }

    #[test]
    fn an_unknown_name_becomes_one_new_supplier_with_a_free_id() {
        let mut index = index();
        let none = SupplierFacts::default();
        let first = index
            .resolve("Eurovia Infrastructure Ltd", &none, 2)
            .unwrap();
        assert_eq!(
            first,
            Matched {
                id: "eurovia-infrastructure".into(),
                new: true
            }
        );
        let again = index
            .resolve("EUROVIA INFRASTRUCTURE LIMITED", &none, 9)
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(index.new.len(), 1);
        assert_eq!(index.new[0].name, "Eurovia Infrastructure Ltd");
        assert!(!index.resolve("Civica", &none, 3).unwrap().new);
        assert_eq!(index.resolve("...", &none, 4), None);
    }

    #[test]
    fn companies_house_numbers_are_checked() {
        assert_eq!(
            SupplierFacts::companies_house("1234567"),
            Some("01234567".into())
        );
        assert_eq!(
            SupplierFacts::companies_house("sc123456"),
            Some("SC123456".into())
        );
        assert_eq!(SupplierFacts::companies_house("N/A"), None);
        assert_eq!(SupplierFacts::companies_house("0"), None);
    }
}
