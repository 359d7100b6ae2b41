//! Atom 1.0 (RFC 4287) feeds, written by hand: a feed is a handful of escaped elements.

use chrono::{DateTime, SecondsFormat, Utc};

/// The media type of an Atom feed.
pub const APPLICATION_ATOM: &str = "application/atom+xml; charset=utf-8";

/// A feed's own facts.
pub struct Feed<'a> {
    /// A permanent IRI naming the feed.
    pub id: &'a str,
    pub title: &'a str,
    /// The feed's own address.
    pub self_url: &'a str,
    /// The latest entry's time, or when the feed began.
    pub updated: DateTime<Utc>,
}

/// One entry.
pub struct Entry {
    /// A permanent IRI naming the entry.
    pub id: String,
    pub title: String,
    /// The record the entry is about.
    pub link: String,
    pub updated: DateTime<Utc>,
    /// A line or two of plain text.
    pub summary: String,
    /// The event's name, as the entry's category.
    pub category: String,
}

/// Text escaped for XML content and attribute values; characters XML 1.0 cannot hold dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The whole feed as XML.
pub fn write(feed: &Feed, entries: &[Entry]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str(&format!("  <id>{}</id>\n", escape(feed.id)));
    xml.push_str(&format!("  <title>{}</title>\n", escape(feed.title)));
    xml.push_str(&format!("  <updated>{}</updated>\n", time(feed.updated)));
    xml.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(feed.self_url)
    ));
    xml.push_str("  <author><name>City Tools API</name></author>\n");
    xml.push_str("  <generator>City Tools API</generator>\n");
    for entry in entries {
        xml.push_str("  <entry>\n");
        xml.push_str(&format!("    <id>{}</id>\n", escape(&entry.id)));
        xml.push_str(&format!("    <title>{}</title>\n", escape(&entry.title)));
        xml.push_str(&format!("    <updated>{}</updated>\n", time(entry.updated)));
        xml.push_str(&format!(
            "    <link rel=\"alternate\" type=\"application/json\" href=\"{}\"/>\n",
            escape(&entry.link)
        ));
        xml.push_str(&format!(
            "    <category term=\"{}\"/>\n",
            escape(&entry.category)
        ));
        xml.push_str(&format!(
            "    <summary type=\"text\">{}</summary>\n",
            escape(&entry.summary)
        ));
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_escapes_what_it_quotes() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let xml = write(
            &Feed {
                id: "urn:citytools:watch:1",
                title: "Croydon <tenders> & more",
                self_url: "http://x/api/v1/feeds/ab?x=1&y=2",
                updated: at,
            },
            &[Entry {
                id: "urn:citytools:event:7".into(),
                title: "tender.published: \"Email\"\u{1}".into(),
                link: "http://x/api/v1/tenders/7".into(),
                updated: at,
                summary: "Croydon".into(),
                category: "tender.published".into(),
            }],
        );
        assert!(xml.contains("<title>Croydon &lt;tenders&gt; &amp; more</title>"));
        assert!(xml.contains("href=\"http://x/api/v1/feeds/ab?x=1&amp;y=2\""));
        assert!(xml.contains("<title>tender.published: &quot;Email&quot;</title>"));
        assert!(xml.contains("<updated>2026-11-30T10:00:00Z</updated>"));
        assert_eq!(xml.matches("<entry>").count(), 1);
    }
}
