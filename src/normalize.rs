//! Normalisation of names shared by the seeds, the importers and the forms: text as stored
//! (NFC, no invisible controls), supplier names for matching, slugs, and words for search.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Characters no stored text may hold: C0 and C1 controls (tab, line feed and carriage return
/// aside), bidirectional embeddings, overrides, isolates and marks (which make "\u{202e}acivic"
/// display as "civica"), zero-width characters and the byte-order mark.
pub fn is_forbidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061c}'
            | '\u{feff}')
}

/// The first character of `text` that no stored text may hold, if any.
pub fn forbidden_char(text: &str) -> Option<char> {
    text.chars().find(|c| is_forbidden(*c))
}

/// Text as it is stored: in Unicode normal form C, without the characters of [`is_forbidden`].
/// Borrowed when it already is.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    if forbidden_char(text).is_none() && is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|c| !is_forbidden(*c)).nfc().collect())
}

/// What is wrong with a date, if anything: every date the service takes, from the API, a
/// file or a source, falls from 1900 to 2199 (a year 0000 or 9999 is a typing slip, and sorts
/// and counts wrongly).
pub fn date_problem(date: chrono::NaiveDate) -> Option<String> {
    use chrono::Datelike;
    (!(1900..=2199).contains(&date.year()))
        .then(|| format!("{date} is outside the years 1900 to 2199 that dates may fall in"))
}

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
    let folded: String = clean_text(name)
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
    use super::*;

    #[test]
    fn stored_text_is_nfc_without_invisible_controls() {
        assert!(matches!(clean_text("Civica"), Cow::Borrowed("Civica")));
        assert_eq!(clean_text("\u{202e}acivic"), "acivic");
        assert_eq!(clean_text("Cafe\u{301}"), "Caf\u{e9}");
        assert_eq!(clean_text("a\u{200b}b\u{0007}c\td"), "abc\td");
        assert_eq!(forbidden_char("x\u{2066}y"), Some('\u{2066}'));
        assert_eq!(forbidden_char("Caf\u{e9} \u{a3}5\n"), None);
        assert_eq!(supplier_name("\u{202e}Civica UK Ltd"), "civica");
    }

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
