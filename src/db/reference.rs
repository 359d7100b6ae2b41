//! The reference tables (boroughs, service areas, suppliers, systems), held in memory so that a
//! filter's ids are checked, and service-area groups expanded, without a round trip.
//!
//! Every pool has one [`ReferenceCache`], reached from any of its connections with [`of`]. It
//! is loaded on first use and dropped whenever PostgreSQL notifies `citytools_reference` (the
//! triggers of migration 000013 do on every write to the four tables, by any instance or
//! command), and at once by this instance's own catalogue writes ([`changed`]). While its
//! listener is not connected, the cache answers nothing and callers ask the database.
//!
//! The cache is trusted only for what it knows: an id it does not hold (one added a moment
//! ago, say) sends the caller to the database, so a stale cache can at worst accept, for the
//! moment the notification takes, an id that was just deleted.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::schema::{boroughs, service_areas, suppliers, systems};

/// The channel the triggers notify.
pub const CHANNEL: &str = "citytools_reference";

/// How often the listener reads the notifications that arrived.
const POLL: Duration = Duration::from_millis(50);

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// The ids of the reference tables, as one snapshot.
#[derive(Debug, Default)]
pub struct Catalogue {
    /// A borough's slug, by its slug and by its GSS code (upper case).
    boroughs: HashMap<String, String>,
    /// Each service area or group, with the areas under it (a group) or itself (an area).
    areas: HashMap<String, Vec<String>>,
    /// Each service area's (and group's) name.
    area_names: HashMap<String, String>,
    suppliers: HashSet<String>,
    systems: HashSet<String>,
}

impl Catalogue {
    /// Reads the four tables.
    fn load(conn: &mut PgConnection) -> QueryResult<Catalogue> {
        let mut catalogue = Catalogue::default();
        let boroughs: Vec<(String, String)> = boroughs::table
            .select((boroughs::id, boroughs::gss_code))
            .load(conn)?;
        for (id, gss) in boroughs {
            catalogue.boroughs.insert(gss.to_uppercase(), id.clone());
            catalogue.boroughs.insert(id.clone(), id);
        }
        let areas: Vec<(String, Option<String>, String)> = service_areas::table
            .select((
                service_areas::id,
                service_areas::parent_id,
                service_areas::name,
            ))
            .load(conn)?;
        for (id, parent, name) in areas {
            catalogue.area_names.insert(id.clone(), name);
            catalogue
                .areas
                .entry(id.clone())
                .or_default()
                .push(id.clone());
            if let Some(parent) = parent {
                catalogue.areas.entry(parent).or_default().push(id);
            }
        }
        catalogue.suppliers = suppliers::table
            .select(suppliers::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        catalogue.systems = systems::table
            .select(systems::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        Ok(catalogue)
    }

    /// Every service area's (and group's) name, by id.
    pub fn service_area_names(&self) -> &HashMap<String, String> {
        &self.area_names
    }

    /// The slugs of the boroughs `asked` names (slugs, or GSS codes in any case), or None when
    /// any of them is not known here.
    pub fn boroughs(&self, asked: &[String]) -> Option<Vec<String>> {
        let mut slugs = Vec::with_capacity(asked.len());
        for value in asked {
            let slug = self
                .boroughs
                .get(value)
                .or_else(|| self.boroughs.get(&value.to_uppercase()))?;
            if !slugs.contains(slug) {
                slugs.push(slug.clone());
            }
        }
        Some(slugs)
    }

    /// The service areas `asked` names, each group with the areas under it, or None when any
    /// of them is not known here.
    pub fn service_areas(&self, asked: &[String]) -> Option<Vec<String>> {
        let mut expanded = BTreeSet::new();
        for value in asked {
            expanded.extend(self.areas.get(value)?.iter().cloned());
        }
        Some(expanded.into_iter().collect())
    }

    /// Whether every id in `asked` is an id of `table` known here (`suppliers`, `systems` or
    /// `service_areas`; false for any other table, which is not held).
    pub fn has(&self, table: &str, asked: &[String]) -> bool {
        match table {
            "suppliers" => asked.iter().all(|id| self.suppliers.contains(id)),
            "systems" => asked.iter().all(|id| self.systems.contains(id)),
            "service_areas" => asked.iter().all(|id| self.areas.contains_key(id)),
            _ => false,
        }
    }
}

/// One pool's cache of the [`Catalogue`].
#[derive(Debug)]
pub struct ReferenceCache {
    /// Where the listener connects.
    url: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Whether the listener thread has been started.
    started: bool,
    /// Whether the listener is connected and listening: only then is the cache used.
    listening: bool,
    /// Counts invalidations, so a snapshot read across one is not kept.
    generation: u64,
    catalogue: Option<Arc<Catalogue>>,
}

impl ReferenceCache {
    /// A cache for the database at `url`; nothing is read or started until it is first used.
    pub fn new(url: &str) -> Arc<ReferenceCache> {
        Arc::new(ReferenceCache {
            url: url.to_owned(),
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state holds no invariant a panic elsewhere could break halfway.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current snapshot, read with `conn` when there is none; None while no listener
    /// would tell this cache of a change.
    pub fn catalogue(
        self: &Arc<Self>,
        conn: &mut PgConnection,
    ) -> QueryResult<Option<Arc<Catalogue>>> {
        let generation = {
            let mut state = self.state();
            if !state.started {
                state.started = true;
                let weak = Arc::downgrade(self);
                let url = self.url.clone();
                std::thread::Builder::new()
                    .name("reference-listener".to_owned())
                    .spawn(move || listen(weak, &url))
                    .map_err(|e| {
                        diesel::result::Error::QueryBuilderError(
                            format!("cannot start the reference listener: {e}").into(),
                        )
                    })?;
            }
            if !state.listening {
                return Ok(None);
            }
            if let Some(catalogue) = &state.catalogue {
                return Ok(Some(catalogue.clone()));
            }
            state.generation
        };
        let catalogue = Arc::new(Catalogue::load(conn)?);
        let mut state = self.state();
        if state.listening && state.generation == generation {
            state.catalogue = Some(catalogue.clone());
        }
        Ok(Some(catalogue))
    }

    /// Forgets the snapshot: the next use reads the tables again.
    pub fn invalidate(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.catalogue = None;
    }

    fn set_listening(&self, listening: bool) {
        self.state().listening = listening;
        self.invalidate();
    }
}

/// Listens on [`CHANNEL`] for `cache` until the cache is dropped, connecting again whenever the
/// connection is lost.
fn listen(cache: Weak<ReferenceCache>, url: &str) {
    loop {
        let connected = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch_execute(&format!("LISTEN {CHANNEL}"))
                    .map_err(|e| e.to_string())?;
                Ok(conn)
            });
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(error) => {
                log::debug!("reference listener cannot connect: {error}");
                std::thread::sleep(RECONNECT);
                if cache.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        match cache.upgrade() {
            Some(cache) => cache.set_listening(true),
            None => return,
        }
        loop {
            std::thread::sleep(POLL);
            let Some(cache) = cache.upgrade() else {
                return;
            };
            let mut notified = false;
            let mut lost = false;
            for notification in conn.notifications_iter() {
                match notification {
                    Ok(_) => notified = true,
                    Err(_) => {
                        lost = true;
                        break;
                    }
                }
            }
            if lost {
                log::warn!("reference listener lost its connection; reconnecting");
                cache.set_listening(false);
                break;
            }
            if notified {
                cache.invalidate();
            }
        }
    }
}

/// The cache of the pool `conn` belongs to; None for a connection from outside a pool.
pub fn of(conn: &mut PgConnection) -> Option<Arc<ReferenceCache>> {
    super::watch_of(conn).map(|watch| watch.reference.clone())
}

/// The snapshot of the pool `conn` belongs to, when one can be trusted now.
pub fn catalogue(conn: &mut PgConnection) -> QueryResult<Option<Arc<Catalogue>>> {
    match of(conn) {
        Some(cache) => cache.catalogue(conn),
        None => Ok(None),
    }
}

/// Tells the cache of `conn`'s pool that this instance has just committed a change to a
/// reference table (other instances learn of it from the notification).
pub fn changed(conn: &mut PgConnection) {
    if let Some(cache) = of(conn) {
        cache.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        let mut c = Catalogue::default();
        for (id, gss) in [("camden", "E09000007"), ("hackney", "E09000012")] {
            c.boroughs.insert(gss.to_owned(), id.to_owned());
            c.boroughs.insert(id.to_owned(), id.to_owned());
        }
        c.areas.insert(
            "revenues".into(),
            vec!["revenues".into(), "council-tax".into()],
        );
        c.areas
            .insert("council-tax".into(), vec!["council-tax".into()]);
        c.suppliers.insert("civica".into());
        c
    }

    #[test]
    fn known_ids_resolve_and_an_unknown_one_sends_the_caller_to_the_database() {
        let c = catalogue();
        let asked = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            c.boroughs(&asked(&["camden", "e09000012", "E09000007"])),
            Some(vec!["camden".to_owned(), "hackney".to_owned()])
        );
        assert_eq!(c.boroughs(&asked(&["camden", "atlantis"])), None);
        assert_eq!(
            c.service_areas(&asked(&["revenues"])),
            Some(vec!["council-tax".to_owned(), "revenues".to_owned()])
        );
        assert_eq!(c.service_areas(&asked(&["revenues", "new-area"])), None);
        assert!(c.has("suppliers", &asked(&["civica"])));
        assert!(!c.has("suppliers", &asked(&["civica", "new-supplier"])));
        assert!(c.has("systems", &[]));
        assert!(c.has("service_areas", &asked(&["revenues"])));
        assert!(!c.has("boroughs", &asked(&["camden"])));
    }
}
