//! A subscriber's queue, conflating: a snapshot (`leaderboard`, `presence`, `answers`,
//! `score`) replaces the one of its kind still waiting and takes its place at the back, so a
//! subscriber that is behind gets the newest of each instead of every one in between. Log
//! events are never skipped; they alone count against the bound, and one that does not fit
//! means the subscriber cannot keep up (the hub drops it; it reconnects and replays).
//! So a queue holds at most `capacity` log frames plus one snapshot per kind.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::Frame;

#[derive(Default)]
struct State {
    items: VecDeque<Frame>,
    logs: usize,
    sender_gone: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A bounded, conflating queue of frames for one subscriber.
pub fn queue(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// The frame joined the queue.
    Added,
    /// The frame replaced a waiting snapshot of its kind.
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// `capacity` log frames wait already.
    Full,
    /// The receiver is gone.
    Closed,
}

/// The hub's end. Dropping it ends the stream once the receiver has taken what waits.
pub struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    pub fn try_send(&self, frame: Frame) -> Result<Queued, SendError> {
        let mut state = self.shared.lock();
        if state.receiver_gone {
            return Err(SendError::Closed);
        }
        let queued = if frame.kind.is_log() {
            if state.logs >= self.shared.capacity {
                return Err(SendError::Full);
            }
            state.logs += 1;
            state.items.push_back(frame);
            Queued::Added
        } else {
            let kind = frame.kind;
            let replaced = match state.items.iter().position(|f| f.kind == kind) {
                Some(i) => state.items.remove(i).is_some(),
                None => false,
            };
            state.items.push_back(frame);
            if replaced {
                Queued::Replaced
            } else {
                Queued::Added
            }
        };
        let waker = state.waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(queued)
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_gone = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The transport's end.
pub struct Receiver {
    shared: Arc<Shared>,
}

/// Nothing waits (and the sender may still send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Empty;

impl Receiver {
    /// The next frame; `None` once the sender is gone and nothing waits.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let mut state = self.shared.lock();
        if let Some(frame) = pop(&mut state) {
            return Poll::Ready(Some(frame));
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        // Registered under the lock: a frame sent after this wakes us.
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    pub async fn recv(&mut self) -> Option<Frame> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    pub fn try_recv(&mut self) -> Result<Frame, Empty> {
        pop(&mut self.shared.lock()).ok_or(Empty)
    }
}

fn pop(state: &mut State) -> Option<Frame> {
    let frame = state.items.pop_front()?;
    if frame.kind.is_log() {
        state.logs -= 1;
    }
    Some(frame)
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        state.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventKind;
    use crate::hub::EncodedEvent;

    fn log(n: u64) -> Frame {
        EncodedEvent::new(Some(n), EventKind::QuestionOpened, "{}".into())
    }

    fn snap(kind: EventKind, data: &str) -> Frame {
        EncodedEvent::new(None, kind, data.into())
    }

    fn drain(rx: &mut Receiver) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|f| match f.id {
                Some(id) => id.to_string(),
                None => format!("{}{}", f.kind.name(), f.data),
            })
            .collect()
    }

    #[test]
    fn snapshots_conflate_in_place_of_order_and_logs_never() {
        let (tx, mut rx) = queue(8);
        assert_eq!(
            tx.try_send(snap(EventKind::Leaderboard, "1")),
            Ok(Queued::Added)
        );
        tx.try_send(log(1)).unwrap();
        tx.try_send(snap(EventKind::Presence, "1")).unwrap();
        assert_eq!(
            tx.try_send(snap(EventKind::Leaderboard, "2")),
            Ok(Queued::Replaced)
        );
        tx.try_send(log(2)).unwrap();
        tx.try_send(snap(EventKind::Score, "1")).unwrap();
        tx.try_send(snap(EventKind::Score, "2")).unwrap();
        // The newest leaderboard comes after the log event that preceded it.
        assert_eq!(
            drain(&mut rx),
            ["1", "presence1", "leaderboard2", "2", "score2"]
        );
    }

    #[test]
    fn only_log_frames_fill_the_queue() {
        let (tx, mut rx) = queue(2);
        for n in 0..100 {
            tx.try_send(snap(EventKind::Leaderboard, &n.to_string()))
                .unwrap();
        }
        tx.try_send(log(1)).unwrap();
        tx.try_send(log(2)).unwrap();
        assert_eq!(tx.try_send(log(3)), Err(SendError::Full));
        assert_eq!(drain(&mut rx), ["leaderboard99", "1", "2"]);
        tx.try_send(log(3)).expect("room again once taken");
    }

    #[tokio::test]
    async fn the_stream_ends_after_what_waits_once_the_sender_goes() {
        let (tx, mut rx) = queue(2);
        tx.try_send(log(1)).unwrap();
        let waiter = tokio::spawn(async move {
            let first = rx.recv().await.map(|f| f.id);
            let second = rx.recv().await.map(|f| f.id);
            let end = rx.recv().await.is_none();
            (first, second, end)
        });
        tokio::task::yield_now().await;
        tx.try_send(log(2)).unwrap();
        drop(tx);
        assert_eq!(waiter.await.unwrap(), (Some(Some(1)), Some(Some(2)), true));
    }

    #[test]
    fn a_gone_receiver_refuses() {
        let (tx, rx) = queue(2);
        drop(rx);
        assert_eq!(tx.try_send(log(1)), Err(SendError::Closed));
    }
}
