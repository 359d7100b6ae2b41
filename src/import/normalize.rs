//! Normalisation shared by the seeds and the importers.

/// Legal-form words dropped from the end of a supplier's name before matching.
const LEGAL_SUFFIXES: &[&str] = &[
    "ltd",
    "limited",
    "plc",
    "llp",
    "llc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "bv",
    "sa",
    "ag",
    "uk",
    "group",
    "holdings",
];

/// A supplier name reduced for matching: lower case, punctuation and `&` folded to spaces or
/// `and`, and trailing legal suffixes (Ltd, Limited, PLC, UK, ...) removed.
///
/// "Civica UK Ltd." and "CIVICA UK LIMITED" both become "civica". A name made only of suffixes
/// ("UK Ltd") keeps its words, so it never normalises to nothing.
pub fn supplier_name(name: &str) -> String {
    let folded: String = name
        .to_lowercase()
        .replace('&', " and ")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = folded.split_whitespace().collect();
    let mut end = words.len();
    while end > 1 && LEGAL_SUFFIXES.contains(&words[end - 1]) {
        end -= 1;
    }
    // "The Access Group" and "Access Group" are the same company.
    let start = usize::from(end > 1 && words[0] == "the");
    words[start..end].join(" ")
}

#[cfg(test)]
mod tests {
    use super::supplier_name;

    #[test]
    fn legal_suffixes_and_case_are_ignored() {
        assert_eq!(supplier_name("Civica UK Ltd."), "civica");
        assert_eq!(supplier_name("CIVICA UK LIMITED"), "civica");
        assert_eq!(supplier_name("Civica"), "civica");
    }

    #[test]
    fn punctuation_and_ampersands_fold() {
        assert_eq!(supplier_name("Marks & Spencer plc"), "marks and spencer");
        assert_eq!(
            supplier_name("Bartec Municipal Technologies Ltd"),
            "bartec municipal technologies"
        );
        assert_eq!(
            supplier_name("NEC Software Solutions UK Limited"),
            "nec software solutions"
        );
    }

    #[test]
    fn a_name_of_suffixes_alone_is_kept() {
        assert_eq!(supplier_name("Group"), "group");
        assert_eq!(supplier_name("The Access Group"), "access");
    }
}
