//! Cancelling the statement of a request whose client went away.
//!
//! Blocking work runs on its own thread, which dropping the request's future does not stop:
//! without this, a client that gives up on a slow insight or download leaves its statement
//! running, holding a connection, until the statement timeout. A [`Watch`] sits on the
//! request's side; when it is dropped before the work is over, it asks PostgreSQL to cancel
//! the statement of that work's connection (`pg_cancel_backend`, from a connection of its own),
//! or, when the work has not yet got a connection, tells it not to start.
//!
//! The work's side waits, before its connection goes back to the pool, until a cancellation in
//! flight has landed, so a late cancellation can never reach the next request's statement.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Integer;

/// The longest the work's side waits for a cancellation to land before it goes on.
const LANDING: Duration = Duration::from_secs(5);

/// How far the work has got.
#[derive(Debug)]
enum Phase {
    /// Waiting for a connection.
    Waiting,
    /// Running on the connection of this server process.
    Running { backend: Backend },
    /// The request went away while the work ran; the cancellation is being sent.
    Cancelling,
    /// The work is over, or will not start.
    Over,
}

/// A server process running a pool's connection, and how to reach its server.
#[derive(Debug, Clone)]
pub struct Backend {
    pub pid: i32,
    pub url: Arc<str>,
}

#[derive(Debug)]
struct Shared {
    phase: Mutex<Phase>,
    landed: Condvar,
}

impl Shared {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The request's side: cancels the work when dropped before [`Watch::disarm`].
#[derive(Debug)]
pub struct Watch {
    shared: Arc<Shared>,
    armed: bool,
}

/// The work's side.
#[derive(Debug)]
pub struct Worker {
    shared: Arc<Shared>,
}

/// Held while the work runs; on drop, waits for a cancellation in flight.
#[derive(Debug)]
pub struct Running {
    shared: Arc<Shared>,
}

/// A watch for one piece of work, and the work's side of it.
pub fn watch() -> (Watch, Worker) {
    let shared = Arc::new(Shared {
        phase: Mutex::new(Phase::Waiting),
        landed: Condvar::new(),
    });
    (
        Watch {
            shared: shared.clone(),
            armed: true,
        },
        Worker { shared },
    )
}

impl Watch {
    /// The work is over and its answer taken: nothing to cancel.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut phase = self.shared.phase();
        let Phase::Running { backend } = std::mem::replace(&mut *phase, Phase::Over) else {
            // Not started: it will not start. Over: nothing to do.
            return;
        };
        *phase = Phase::Cancelling;
        drop(phase);
        let shared = self.shared.clone();
        let sent = std::thread::Builder::new()
            .name("cancel".to_owned())
            .spawn(move || {
                if let Err(error) = cancel(&backend) {
                    log::warn!(
                        "could not cancel the statement of a request that went away: {error}"
                    );
                }
                *shared.phase() = Phase::Over;
                shared.landed.notify_all();
            });
        if sent.is_err() {
            *self.shared.phase() = Phase::Over;
            self.shared.landed.notify_all();
        }
    }
}

impl Worker {
    /// Marks the work as running on `backend` (None when its connection is not a pool's);
    /// None when the request has already gone, and the work should not start.
    pub fn start(self, backend: Option<Backend>) -> Option<Running> {
        let mut phase = self.shared.phase();
        if matches!(*phase, Phase::Over) {
            return None;
        }
        if let Some(backend) = backend {
            *phase = Phase::Running { backend };
        }
        drop(phase);
        Some(Running {
            shared: self.shared,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut phase = self.shared.phase();
        while matches!(*phase, Phase::Cancelling) {
            let (next, timeout) = self
                .shared
                .landed
                .wait_timeout(phase, LANDING)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            phase = next;
            if timeout.timed_out() {
                break;
            }
        }
        *phase = Phase::Over;
    }
}

/// Asks the server to cancel what `backend` is running (nothing, if it is idle by then).
fn cancel(backend: &Backend) -> Result<(), String> {
    let mut conn = PgConnection::establish(&backend.url).map_err(|e| e.to_string())?;
    diesel::sql_query("SELECT pg_cancel_backend($1)")
        .bind::<Integer, _>(backend.pid)
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(())
}
