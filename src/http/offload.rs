//! CPU-bound request work (parsing and checking large bodies, writing large reports) runs on
//! tokio's blocking pool, a few jobs at a time, so the async workers keep answering
//! everything else (health checks, answers, event streams) meanwhile.

use std::num::NonZeroUsize;
use std::sync::LazyLock;

use tokio::sync::Semaphore;

use super::error::{AppError, AppResult};

/// Below this the work takes microseconds: running it in place is cheaper than a hand-off.
pub const INLINE_MAX_BYTES: usize = 8 * 1024;

/// One blocking job per core at most: more would only share the same cores.
static JOBS: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, NonZeroUsize::get))
});

/// Runs `work`, whose cost grows with `size` bytes of input, in place when it is small and on
/// the blocking pool otherwise.
pub async fn cpu_bound<T: Send + 'static>(
    size: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    if size <= INLINE_MAX_BYTES {
        return Ok(work());
    }
    let _job = JOBS
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(e.into()))
}
