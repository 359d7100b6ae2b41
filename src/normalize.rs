//! Normalisation of names shared by the seeds, the importers and the forms: supplier names for
//! matching, slugs, and words for search.

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

/// Longest slug made from a name.
const MAX_SLUG: usize = 60;

/// A slug (`eurovia-infrastructure`) from a name: lower-case ASCII letters and digits in words
/// joined by hyphens, cut at a word boundary to at most 60 characters. Empty when the name has
/// no ASCII letters or digits.
pub fn slug(name: &str) -> String {
    let lowered = name.to_lowercase();
    let words = lowered
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    let mut slug = String::new();
    for word in words {
        let extra = if slug.is_empty() { 0 } else { 1 } + word.len();
        if slug.len() + extra > MAX_SLUG {
            if slug.is_empty() {
                slug.push_str(&word[..MAX_SLUG]);
            }
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(word);
    }
    slug
}

/// Text folded for matching: lower case, apostrophes dropped ("children's" is "childrens"), `&`
/// as "and", other punctuation as spaces (runs of spaces left for the caller to split on).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .replace(['\'', '’'], "")
        .replace('&', " and ")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect()
}

/// Text reduced for matching phrases: lower case, apostrophes dropped ("children's" is
/// "childrens"), `&` as "and", other punctuation as spaces, with a space at each end so that
/// `" phrase "` only matches whole words.
pub fn words(text: &str) -> String {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    for word in folded.split_whitespace() {
        out.push_str(word);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{slug, supplier_name, words};

    #[test]
    fn slugs_are_ascii_words() {
        assert_eq!(slug("eurovia infrastructure"), "eurovia-infrastructure");
        assert_eq!(slug("Café  Ltd & Co."), "caf-ltd-co");
        assert_eq!(slug("日本"), "");
        assert!(slug(&"word ".repeat(30)).len() <= 60);
        assert_eq!(slug(&"x".repeat(70)).len(), 60);
    }

    #[test]
    fn words_are_padded_and_folded() {
        assert_eq!(
            words("Children's Services & IT"),
            " childrens services and it "
        );
    }

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
