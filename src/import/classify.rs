//! Whether a contract is technology, and which service areas it serves, from what a row names:
//! its system, the words of its title, its CPV codes and its supplier.
//!
//! A contract is technology when it has an IT CPV code (48 software, 72 IT services, 302
//! computer equipment, 324/325 networks and telecoms equipment, 503 computer maintenance, 5161
//! computer installation, 642 telecoms services), names a system of the catalogue, is held by a
//! supplier with systems in the catalogue, or its title or category says so in so many words
//! ("software", "ICT", "SaaS", "IT services", ...).
//!
//! Its service areas come from the first of these that gives any: the named system's areas; the
//! title's words (`KEYWORDS`); the CPV codes (`CPV_AREAS`, longest prefix first); the supplier's
//! systems, when they all sit in one group of areas. A technology contract that none of these
//! place goes under `it-service-management`.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;

use super::normalize;
use crate::db::schema::{service_areas, system_service_areas, systems};

/// Where technology contracts go when nothing says more.
pub const FALLBACK_AREA: &str = "it-service-management";

/// CPV prefixes of information technology.
const IT_CPV: &[&str] = &["48", "72", "302", "324", "325", "503", "5161", "642"];

/// CPV prefixes and the service area each means. `72212xxx` (software development of a kind)
/// is read as the `48xxx` software package of the same kind.
const CPV_AREAS: &[(&str, &str)] = &[
    // Software packages (48).
    ("4816", "libraries"),
    ("4819", "education-management"),
    ("4822", "web-and-digital-services"),
    ("48311", "document-and-records-management"),
    ("48326", "gis"),
    ("48329", "document-and-records-management"),
    ("48333", "crm-and-customer-contact"),
    ("4833", "productivity-and-collaboration"),
    ("4842", "property-asset-management"),
    ("48445", "crm-and-customer-contact"),
    ("4844", "finance"),
    ("48451", "finance"),
    ("4845", "hr-and-payroll"),
    ("4846", "data-and-bi"),
    ("48482", "data-and-bi"),
    ("4849", "procurement"),
    ("48515", "productivity-and-collaboration"),
    ("4851", "telephony-and-contact-centre"),
    ("48613", "document-and-records-management"),
    ("4861", "data-and-bi"),
    ("4873", "it-service-management"),
    ("4876", "it-service-management"),
    ("48783", "web-and-digital-services"),
    ("4878", "it-service-management"),
    ("48811", "productivity-and-collaboration"),
    ("48812", "finance"),
    ("4882", "it-service-management"),
    ("4892", "productivity-and-collaboration"),
    ("4899", "productivity-and-collaboration"),
    // IT services (72).
    ("7225", "it-service-management"),
    ("723", "data-and-bi"),
    ("7241", "it-service-management"),
    ("724", "web-and-digital-services"),
    ("72512", "document-and-records-management"),
    ("7251", "it-service-management"),
    ("7254", "it-service-management"),
    ("726", "it-service-management"),
    ("727", "it-service-management"),
    // Telecoms.
    ("325", "telephony-and-contact-centre"),
    ("642", "telephony-and-contact-centre"),
    // Services that are not technology, for imports with --all.
    ("905", "waste-and-recycling"),
    ("7721", "grounds-and-trees"),
    ("773", "grounds-and-trees"),
    ("7734", "grounds-and-trees"),
    ("341", "fleet-management"),
    ("501", "fleet-management"),
    ("98351", "parking"),
    ("637124", "parking"),
    ("853113", "childrens-social-care"),
    ("8531", "adult-social-care"),
    ("8532", "adult-social-care"),
    ("851", "public-health"),
    ("6652", "pensions"),
    ("796", "hr-and-payroll"),
    ("79993", "property-asset-management"),
    ("70", "property-asset-management"),
    ("9251", "libraries"),
];

/// Phrases of a title (whole words, any case) and the service areas they mean.
const KEYWORDS: &[(&[&str], &[&str])] = &[
    (
        &[
            "revenues and benefits",
            "revs and bens",
            "revenue and benefits",
        ],
        &["council-tax", "business-rates", "housing-benefit"],
    ),
    (&["council tax"], &["council-tax"]),
    (
        &["business rates", "nndr", "non domestic rates"],
        &["business-rates"],
    ),
    (
        &[
            "housing benefit",
            "council tax support",
            "council tax reduction",
        ],
        &["housing-benefit"],
    ),
    (
        &[
            "adult social care",
            "adults social care",
            "adult services",
            "adults services",
        ],
        &["adult-social-care"],
    ),
    (
        &[
            "childrens social care",
            "childrens services",
            "children in care",
            "child protection",
            "early help",
            "looked after children",
        ],
        &["childrens-social-care"],
    ),
    (
        &[
            "direct payments",
            "social care finance",
            "financial assessments",
            "client contributions",
        ],
        &["social-care-finance"],
    ),
    (
        &[
            "public health",
            "sexual health",
            "health visiting",
            "school nursing",
            "smoking cessation",
            "stop smoking",
        ],
        &["public-health"],
    ),
    (
        &[
            "school admissions",
            "admissions",
            "education management",
            "early years",
            "school census",
        ],
        &["education-management"],
    ),
    (
        &[
            "special educational needs",
            "ehcp",
            "education health and care",
        ],
        &["send"],
    ),
    (
        &[
            "housing management",
            "tenancy management",
            "rent accounting",
            "leasehold",
            "housing system",
        ],
        &["housing-management"],
    ),
    (
        &["housing repairs", "responsive repairs", "repairs service"],
        &["housing-repairs"],
    ),
    (
        &[
            "homelessness",
            "housing options",
            "housing register",
            "choice based lettings",
            "temporary accommodation",
        ],
        &["homelessness-and-housing-options"],
    ),
    (
        &[
            "planning application",
            "planning applications",
            "development management",
            "planning system",
            "planning portal",
        ],
        &["planning"],
    ),
    (&["building control"], &["building-control"]),
    (
        &["environmental health", "food safety"],
        &["environmental-health"],
    ),
    (
        &[
            "taxi licensing",
            "premises licensing",
            "licensing act",
            "street trading",
            "hmo licensing",
        ],
        &["licensing"],
    ),
    (&["land charges"], &["land-charges"]),
    (
        &["waste", "recycling", "refuse", "bin collection"],
        &["waste-and-recycling"],
    ),
    (
        &[
            "parking",
            "penalty charge",
            "pcn",
            "pcns",
            "car park",
            "car parks",
        ],
        &["parking"],
    ),
    (
        &[
            "highways",
            "highway",
            "street works",
            "streetworks",
            "street lighting",
            "road maintenance",
        ],
        &["highways-and-street-works"],
    ),
    (
        &[
            "grounds maintenance",
            "parks",
            "tree",
            "trees",
            "arboricultural",
            "green space",
            "green spaces",
        ],
        &["grounds-and-trees"],
    ),
    (&["fleet", "vehicle maintenance"], &["fleet-management"]),
    (&["library", "libraries"], &["libraries"]),
    (
        &["registrars", "registration service", "ceremonies"],
        &["registrars"],
    ),
    (
        &["electoral", "elections", "election", "canvass"],
        &["electoral-registration"],
    ),
    (
        &[
            "democratic services",
            "committee management",
            "committee system",
        ],
        &["democratic-services"],
    ),
    (
        &[
            "finance system",
            "financial system",
            "financial management system",
            "erp",
            "general ledger",
            "accounts payable",
            "accounts receivable",
            "enterprise resource planning",
        ],
        &["finance"],
    ),
    (
        &[
            "payment system",
            "payments system",
            "income management",
            "cash receipting",
            "payment gateway",
            "card payments",
            "electronic payment",
        ],
        &["payments-and-income"],
    ),
    (
        &[
            "e tendering",
            "etendering",
            "e procurement",
            "eprocurement",
            "procurement system",
            "contract management system",
            "purchase to pay",
        ],
        &["procurement"],
    ),
    (&["pension", "pensions"], &["pensions"]),
    (
        &[
            "payroll",
            "hr system",
            "human resources",
            "recruitment system",
            "applicant tracking",
        ],
        &["hr-and-payroll"],
    ),
    (
        &[
            "facilities management system",
            "property management",
            "estates management",
            "cafm",
        ],
        &["property-asset-management"],
    ),
    (
        &[
            "crm",
            "customer relationship",
            "customer contact",
            "customer services",
            "customer service",
        ],
        &["crm-and-customer-contact"],
    ),
    (
        &[
            "website",
            "web site",
            "web content",
            "content management system",
            "online forms",
            "digital platform",
            "intranet",
            "web hosting",
        ],
        &["web-and-digital-services"],
    ),
    (
        &[
            "telephony",
            "telephone",
            "telephones",
            "contact centre",
            "call centre",
            "call recording",
            "unified communications",
            "voip",
            "mobile phones",
        ],
        &["telephony-and-contact-centre"],
    ),
    (
        &[
            "freedom of information",
            "foi",
            "complaints",
            "subject access",
            "member enquiries",
        ],
        &["foi-and-complaints"],
    ),
    (
        &[
            "document management",
            "edrms",
            "records management",
            "scanning",
            "archiving",
            "electronic document",
        ],
        &["document-and-records-management"],
    ),
    (
        &[
            "gis",
            "mapping",
            "gazetteer",
            "llpg",
            "geographic information",
            "geospatial",
        ],
        &["gis"],
    ),
    (
        &[
            "service desk",
            "it support",
            "helpdesk",
            "help desk",
            "it service management",
            "itsm",
        ],
        &["it-service-management"],
    ),
    (
        &[
            "business intelligence",
            "data warehouse",
            "analytics",
            "dashboards",
            "data platform",
        ],
        &["data-and-bi"],
    ),
    (
        &[
            "microsoft 365",
            "office 365",
            "m365",
            "email",
            "e mail",
            "microsoft licences",
            "microsoft licensing",
            "collaboration",
        ],
        &["productivity-and-collaboration"],
    ),
];

/// Phrases that make a contract technology on their own.
const IT_WORDS: &[&str] = &[
    "software",
    "ict",
    "saas",
    "information technology",
    "it services",
    "it service",
    "it support",
    "it system",
    "it systems",
    "it equipment",
    "it hardware",
    "computer",
    "computers",
    "laptops",
    "cyber security",
    "data centre",
    "telephony",
    "technology",
    "digital services",
];

/// Title words that need their capitals ("SEND", not "send").
const CAPITAL_KEYWORDS: &[(&str, &str)] = &[("SEND", "send")];

/// The CPV codes in a cell: every run of eight digits ("72000000-5 IT services|48000000").
pub fn cpv_codes(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    let bytes = text.as_bytes();
    let mut start = None;
    for (i, b) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s == 8 {
                    codes.push(text[s..i].to_owned());
                }
                start = None;
            }
            _ => {}
        }
    }
    codes.dedup();
    codes
}

/// Whether a CPV code is information technology.
pub fn is_it_cpv(code: &str) -> bool {
    IT_CPV.iter().any(|prefix| code.starts_with(prefix))
}

/// The service area a CPV code means, if any.
pub fn cpv_area(code: &str) -> Option<&'static str> {
    let code = match code.strip_prefix("72212") {
        Some(kind) => format!("48{kind}"),
        None => code.to_owned(),
    };
    CPV_AREAS
        .iter()
        .filter(|(prefix, _)| code.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, area)| *area)
}

#[derive(Debug, Clone)]
struct SystemEntry {
    id: String,
    /// The name as `normalize::words` has it.
    words: String,
    vendor: String,
    areas: Vec<String>,
}

/// The systems and service areas, for classifying the rows of one file.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    systems: Vec<SystemEntry>,
    by_id: HashMap<String, usize>,
    /// Service areas (not groups) by id, with their group.
    areas: HashMap<String, String>,
    /// Area ids by reduced name and id, for the survey.
    area_names: HashMap<String, String>,
    groups: BTreeSet<String>,
    /// A supplier's areas, when all its systems sit in one group.
    supplier_areas: HashMap<String, Vec<String>>,
    /// `KEYWORDS` and `IT_WORDS` padded with spaces, made once rather than for every row.
    keywords: Vec<(Vec<String>, &'static [&'static str])>,
    it_words: Vec<String>,
}

/// What a row says that classification reads.
#[derive(Debug, Clone, Default)]
pub struct Signals<'a> {
    pub title: &'a str,
    /// Other text that describes the contract: a register's category or department column.
    pub context: &'a str,
    pub cpv: &'a [String],
    /// The supplier holding the contract, when it is an existing one.
    pub supplier_id: Option<&'a str>,
    pub supplier_is_software: bool,
    /// A system the row names outright (the survey's system column).
    pub system_id: Option<&'a str>,
}

/// What classification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub technology: bool,
    pub system_id: Option<String>,
    /// Empty when nothing placed the contract (and it is not technology).
    pub areas: Vec<String>,
    /// What placed it: "system", "title", "cpv", "supplier" or "fallback".
    pub by: &'static str,
}

impl Catalogue {
    pub fn load(conn: &mut PgConnection) -> QueryResult<Catalogue> {
        let systems: Vec<(String, String, String)> = systems::table
            .select((systems::id, systems::name, systems::supplier_id))
            .order(systems::id)
            .load(conn)?;
        let links: Vec<(String, String)> = system_service_areas::table
            .select((
                system_service_areas::system_id,
                system_service_areas::service_area_id,
            ))
            .order((
                system_service_areas::system_id,
                system_service_areas::service_area_id,
            ))
            .load(conn)?;
        let areas: Vec<(String, String, Option<String>)> = service_areas::table
            .select((
                service_areas::id,
                service_areas::name,
                service_areas::parent_id,
            ))
            .load(conn)?;
        Ok(Catalogue::new(systems, links, areas))
    }

    /// From `(id, name, supplier_id)` systems, `(system_id, area_id)` links and
    /// `(id, name, parent_id)` service areas.
    pub fn new(
        systems: Vec<(String, String, String)>,
        links: Vec<(String, String)>,
        areas: Vec<(String, String, Option<String>)>,
    ) -> Catalogue {
        let pad = |phrase: &&str| format!(" {phrase} ");
        let mut catalogue = Catalogue {
            keywords: KEYWORDS
                .iter()
                .map(|(phrases, areas)| (phrases.iter().map(pad).collect(), *areas))
                .collect(),
            it_words: IT_WORDS.iter().map(pad).collect(),
            ..Catalogue::default()
        };
        for (id, name, parent) in &areas {
            match parent {
                Some(group) => {
                    catalogue.areas.insert(id.clone(), group.clone());
                    catalogue
                        .area_names
                        .insert(normalize::words(name).trim().to_owned(), id.clone());
                    catalogue.area_names.insert(id.clone(), id.clone());
                }
                None => {
                    catalogue.groups.insert(id.clone());
                }
            }
        }
        let mut system_areas: HashMap<String, Vec<String>> = HashMap::new();
        for (system, area) in links {
            system_areas.entry(system).or_default().push(area);
        }
        for (id, name, vendor) in systems {
            catalogue.by_id.insert(id.clone(), catalogue.systems.len());
            catalogue.systems.push(SystemEntry {
                areas: system_areas.remove(&id).unwrap_or_default(),
                id,
                words: normalize::words(&name),
                vendor,
            });
        }
        let mut by_vendor: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for system in &catalogue.systems {
            by_vendor
                .entry(&system.vendor)
                .or_default()
                .extend(system.areas.iter().map(String::as_str));
        }
        for (vendor, areas) in by_vendor {
            let groups: BTreeSet<&str> = areas
                .iter()
                .filter_map(|a| catalogue.areas.get(*a).map(String::as_str))
                .collect();
            if groups.len() == 1 && !areas.is_empty() {
                catalogue.supplier_areas.insert(
                    vendor.to_owned(),
                    areas.iter().map(|a| (*a).to_owned()).collect(),
                );
            }
        }
        catalogue
    }

    /// Whether `id` is a service area (not a group).
    pub fn is_area(&self, id: &str) -> bool {
        self.areas.contains_key(id)
    }

    /// Whether `id` is a group of service areas.
    pub fn is_group(&self, id: &str) -> bool {
        self.groups.contains(id)
    }

    /// A service area by id or name ("council-tax", "Council tax").
    pub fn area(&self, given: &str) -> Option<&str> {
        let given = given.trim();
        self.area_names
            .get(given)
            .or_else(|| self.area_names.get(normalize::words(given).trim()))
            .map(String::as_str)
    }

    /// A system by id or exact name (case and punctuation aside).
    pub fn system(&self, given: &str) -> Option<&str> {
        let given = given.trim();
        if let Some(i) = self.by_id.get(given) {
            return Some(&self.systems[*i].id);
        }
        let words = normalize::words(given);
        self.systems
            .iter()
            .find(|s| s.words == words)
            .map(|s| s.id.as_str())
    }

    /// A system's vendor and service areas.
    pub fn system_details(&self, id: &str) -> Option<(&str, &[String])> {
        self.by_id.get(id).map(|i| {
            (
                self.systems[*i].vendor.as_str(),
                self.systems[*i].areas.as_slice(),
            )
        })
    }

    /// A system whose whole name appears in `title`. A one-word name ("Paris", "Echo",
    /// "Uniform") counts only when the contract's supplier is the system's vendor.
    fn system_in_title(
        &self,
        title_words: &str,
        supplier_id: Option<&str>,
    ) -> Option<&SystemEntry> {
        self.systems
            .iter()
            .filter(|s| title_words.contains(&s.words))
            .filter(|s| s.words.trim().contains(' ') || supplier_id == Some(s.vendor.as_str()))
            .max_by_key(|s| s.words.len())
    }

    pub fn classify(&self, signals: &Signals) -> Classification {
        let title = normalize::words(signals.title);
        let text = format!("{title}{}", normalize::words(signals.context));
        let system = match signals.system_id {
            Some(id) => self.by_id.get(id).map(|i| &self.systems[*i]),
            None => self.system_in_title(&title, signals.supplier_id),
        };
        let it_cpv = signals.cpv.iter().any(|c| is_it_cpv(c));
        let it_words = self.it_words.iter().any(|w| text.contains(w.as_str()))
            || signals
                .title
                .split(|c: char| !c.is_alphanumeric())
                .chain(signals.context.split(|c: char| !c.is_alphanumeric()))
                .any(|w| w == "IT");
        let technology = system.is_some() || it_cpv || signals.supplier_is_software || it_words;

        let keep = |areas: Vec<String>| -> Vec<String> {
            let mut seen = BTreeSet::new();
            areas
                .into_iter()
                .filter(|a| self.is_area(a) && seen.insert(a.clone()))
                .collect()
        };
        let placed = |areas: Vec<String>, by: &'static str| {
            let areas = keep(areas);
            (!areas.is_empty()).then_some((areas, by))
        };

        let from_system = system.and_then(|s| placed(s.areas.clone(), "system"));
        let found = from_system
            .or_else(|| placed(self.keyword_areas(&title, signals.title), "title"))
            .or_else(|| {
                let areas = signals
                    .cpv
                    .iter()
                    .filter_map(|c| cpv_area(c))
                    .map(str::to_owned)
                    .collect();
                placed(areas, "cpv")
            })
            .or_else(|| {
                let areas = signals
                    .supplier_id
                    .and_then(|id| self.supplier_areas.get(id))
                    .cloned()
                    .unwrap_or_default();
                placed(areas, "supplier")
            })
            .or_else(|| {
                technology
                    .then(|| placed(vec![FALLBACK_AREA.to_owned()], "fallback"))
                    .flatten()
            });
        let (areas, by) = found.unwrap_or_default();
        Classification {
            technology,
            system_id: system.map(|s| s.id.clone()),
            areas,
            by,
        }
    }

    fn keyword_areas(&self, title_words: &str, title: &str) -> Vec<String> {
        let mut areas = Vec::new();
        for (phrases, meaning) in &self.keywords {
            if phrases.iter().any(|p| title_words.contains(p.as_str())) {
                areas.extend(meaning.iter().map(|a| (*a).to_owned()));
            }
        }
        for (word, area) in CAPITAL_KEYWORDS {
            if title
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == *word)
            {
                areas.push((*area).to_owned());
            }
        }
        areas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
        let l = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        let area =
            |a: &str, b: &str, p: Option<&str>| (a.to_owned(), b.to_owned(), p.map(str::to_owned));
        Catalogue::new(
            vec![
                s("civica-openrevenues", "Civica OpenRevenues", "civica"),
                s("civica-paris", "Paris", "civica"),
                s("bartec-collective", "Collective", "bartec"),
            ],
            vec![
                l("civica-openrevenues", "council-tax"),
                l("civica-openrevenues", "business-rates"),
                l("civica-paris", "adult-social-care"),
                l("bartec-collective", "waste-and-recycling"),
            ],
            vec![
                area("revenues-and-benefits", "Revenues and benefits", None),
                area("council-tax", "Council tax", Some("revenues-and-benefits")),
                area(
                    "business-rates",
                    "Business rates",
                    Some("revenues-and-benefits"),
                ),
                area("social-care", "Social care", None),
                area(
                    "adult-social-care",
                    "Adult social care",
                    Some("social-care"),
                ),
                area("environment", "Environment", None),
                area(
                    "waste-and-recycling",
                    "Waste and recycling",
                    Some("environment"),
                ),
                area("parking", "Parking", Some("environment")),
                area("technology", "Technology", None),
                area(
                    "it-service-management",
                    "IT service management",
                    Some("technology"),
                ),
                area("gis", "GIS", Some("technology")),
            ],
        )
    }

    #[test]
    fn cpv_codes_are_found_and_read() {
        assert_eq!(
            cpv_codes("51000000 50300000 72200000 "),
            vec!["51000000", "50300000", "72200000"]
        );
        assert_eq!(cpv_codes("72000000-5 IT services"), vec!["72000000"]);
        assert!(is_it_cpv("48000000") && is_it_cpv("50300000") && !is_it_cpv("45000000"));
        assert_eq!(cpv_area("72212326"), Some("gis"));
        assert_eq!(cpv_area("48326100"), Some("gis"));
        assert_eq!(cpv_area("72000000"), None);
    }

    #[test]
    fn a_named_system_places_the_contract() {
        let c = catalogue();
        let found = c.classify(&Signals {
            title: "Civica OpenRevenues licence",
            ..Default::default()
        });
        assert!(found.technology);
        assert_eq!(found.system_id.as_deref(), Some("civica-openrevenues"));
        assert_eq!(found.areas, vec!["council-tax", "business-rates"]);
    }

    #[test]
    fn a_one_word_system_needs_its_vendor() {
        let c = catalogue();
        let trip = c.classify(&Signals {
            title: "School trip to Paris",
            ..Default::default()
        });
        assert!(!trip.technology && trip.system_id.is_none());
        let paris = c.classify(&Signals {
            title: "Paris support",
            supplier_id: Some("civica"),
            supplier_is_software: true,
            ..Default::default()
        });
        assert_eq!(paris.system_id.as_deref(), Some("civica-paris"));
    }

    #[test]
    fn titles_then_cpv_then_supplier_then_fallback() {
        let c = catalogue();
        let cpv = vec!["72000000".to_owned()];
        let title = c.classify(&Signals {
            title: "Parking permits software",
            cpv: &cpv,
            ..Default::default()
        });
        assert_eq!(
            (title.areas.clone(), title.by),
            (vec!["parking".to_owned()], "title")
        );
        let gis = vec!["48326000".to_owned()];
        let by_cpv = c.classify(&Signals {
            title: "Licences",
            cpv: &gis,
            ..Default::default()
        });
        assert_eq!(by_cpv.areas, vec!["gis"]);
        let supplier = c.classify(&Signals {
            title: "Annual support",
            supplier_id: Some("bartec"),
            supplier_is_software: true,
            ..Default::default()
        });
        assert_eq!(supplier.areas, vec!["waste-and-recycling"]);
        let fallback = c.classify(&Signals {
            title: "CCTV upgrade",
            cpv: &cpv,
            ..Default::default()
        });
        assert_eq!(
            (fallback.areas, fallback.by),
            (vec![FALLBACK_AREA.to_owned()], "fallback")
        );
        let building = c.classify(&Signals {
            title: "New build",
            ..Default::default()
        });
        assert!(!building.technology && building.areas.is_empty());
    }

    #[test]
    fn it_words_make_technology() {
        let c = catalogue();
        let technology = |title, context| {
            c.classify(&Signals {
                title,
                context,
                ..Default::default()
            })
            .technology
        };
        assert!(technology("Provision of IT support", ""));
        assert!(technology("Case management software", ""));
        assert!(!technology("It is a cleaning contract", ""));
        assert!(technology("Renewal", "ICT"));
    }
}
