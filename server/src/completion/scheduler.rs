//! At most one job running and one queued; the newest request wins.
//!
//! Editors send an automatic completion request on every keystroke and some
//! (Helix, Neovim) never cancel. So a new request replaces the queued one,
//! which is answered at once as superseded, and cancels the running one when
//! both are for the same document (its answer would be stale). A request whose
//! future is dropped (`$/cancelRequest`) cancels its job through a guard.
//! Every request gets exactly one outcome.
//!
//! "Newest" is the order requests arrived in (their [`arrival`] stamp), not
//! the order they reach the scheduler: requests are prepared concurrently,
//! and one that arrived earlier may be ready later. It then loses at once.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::engine::{CancelOnDrop, CancelToken, EngineHandle, Generation, Job, JobError};

/// What happened to a submitted job.
#[derive(Debug)]
pub enum Outcome {
    Done(Generation),
    /// A newer request took its place before it ran or while it ran.
    Superseded,
    Cancelled,
    Failed(JobError),
}

/// Runs jobs; the real engine in the server, a scripted one in tests.
pub trait Runner: Send + Sync + 'static {
    fn run(&self, job: Job) -> Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>>;

    /// Runs a job for a likely next request, in idle time only: anything
    /// submitted later interrupts it. Optional; by default nothing runs.
    fn speculate(
        &self,
        job: Job,
    ) -> Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>> {
        drop(job);
        Box::pin(async { Err(JobError::Cancelled) })
    }
}

impl Runner for EngineHandle {
    fn speculate(
        &self,
        job: Job,
    ) -> Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>> {
        let answer = EngineHandle::speculate(self, job);
        Box::pin(async move { answer.await.unwrap_or(Err(JobError::Stopped)) })
    }

    fn run(&self, job: Job) -> Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>> {
        let answer = self.submit(job);
        Box::pin(async move { answer.await.unwrap_or(Err(JobError::Stopped)) })
    }
}

/// The one-running, one-queued policy.
pub struct Scheduler {
    runner: Arc<dyn Runner>,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    running: Option<Slot>,
    queued: Option<(Slot, Job, oneshot::Sender<Outcome>)>,
}

struct Slot {
    key: String,
    /// When the request arrived (see [`arrival`]).
    arrival: u64,
    cancel: CancelToken,
    /// Set when a newer request for the same key replaced this one.
    superseded: bool,
}

impl Scheduler {
    pub fn new(runner: Arc<dyn Runner>) -> Scheduler {
        Scheduler { runner, state: Arc::default() }
    }

    pub fn runner(&self) -> &dyn Runner {
        &*self.runner
    }

    /// Submits a job for `key` (the document), for a request stamped
    /// `arrival`, and waits for its outcome. Dropping the returned future
    /// cancels the job.
    pub fn submit(
        &self,
        key: &str,
        arrival: u64,
        job: Job,
    ) -> impl Future<Output = Outcome> + Send + use<> {
        let (tx, rx) = oneshot::channel();
        let cancel = job.cancel.clone();
        let slot = Slot { key: key.to_owned(), arrival, cancel: cancel.clone(), superseded: false };
        {
            let mut state = self.state.lock();
            let newer_running = state
                .running
                .as_ref()
                .is_some_and(|it| it.key == key && it.arrival > arrival && !it.superseded);
            let newer_queued = state.queued.as_ref().is_some_and(|(it, _, _)| it.arrival > arrival);
            if newer_running || newer_queued {
                let _ = tx.send(Outcome::Superseded);
            } else {
                if let Some((_, _, old)) = state.queued.take() {
                    let _ = old.send(Outcome::Superseded);
                }
                Self::enter(&self.runner, &self.state, &mut state, slot, job, tx);
            }
        }
        let guard = CancelOnDrop(cancel);
        async move {
            let outcome = rx.await.unwrap_or(Outcome::Cancelled);
            drop(guard);
            outcome
        }
    }
}

impl Scheduler {
    /// Runs a job, or queues it behind the running one, which it cancels
    /// when both are for the same key.
    fn enter(
        runner: &Arc<dyn Runner>,
        shared: &Arc<Mutex<State>>,
        state: &mut State,
        slot: Slot,
        job: Job,
        tx: oneshot::Sender<Outcome>,
    ) {
        if let Some(running) = &mut state.running
            && running.key == slot.key
        {
            running.superseded = true;
            running.cancel.cancel();
        }
        if state.running.is_none() {
            state.running = Some(slot);
            start(runner.clone(), shared.clone(), job, tx);
        } else {
            state.queued = Some((slot, job, tx));
        }
    }
}

/// A stamp for a request that has just arrived: a later request gets a
/// larger one. Requests take theirs where they are received, in order.
pub fn arrival() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn start(
    runner: Arc<dyn Runner>,
    state: Arc<Mutex<State>>,
    job: Job,
    tx: oneshot::Sender<Outcome>,
) {
    tokio::spawn(async move {
        let mut job = job;
        let mut tx = tx;
        loop {
            let result = runner.run(job).await;
            let next = {
                let mut state = state.lock();
                let finished = state.running.take();
                let superseded = finished.is_some_and(|it| it.superseded);
                // A superseded job's text would be stale even if it finished.
                let outcome = match (result, superseded) {
                    (_, true) => Outcome::Superseded,
                    (Ok(generation), false) => Outcome::Done(generation),
                    (Err(JobError::Cancelled), false) => Outcome::Cancelled,
                    (Err(err), false) => Outcome::Failed(err),
                };
                let _ = tx.send(outcome);
                state.queued.take().map(|(slot, job, tx)| {
                    state.running = Some(slot);
                    (job, tx)
                })
            };
            match next {
                Some((next_job, next_tx)) => {
                    job = next_job;
                    tx = next_tx;
                }
                None => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;
    use crate::engine::{Prompt, StopReason, StopRules};

    /// A runner whose jobs finish when the test says so, or when cancelled.
    struct ScriptedRunner {
        started: mpsc::UnboundedSender<(String, oneshot::Sender<()>)>,
    }

    impl Runner for ScriptedRunner {
        fn run(
            &self,
            job: Job,
        ) -> Pin<Box<dyn Future<Output = Result<Generation, JobError>> + Send>> {
            let (finish, finished) = oneshot::channel();
            let name = job.prompt.render();
            let _ = self.started.send((name.clone(), finish));
            Box::pin(async move {
                tokio::select! {
                    _ = finished => Ok(generation(&name)),
                    () = wait_cancelled(job.cancel.clone()) => Err(JobError::Cancelled),
                }
            })
        }
    }

    async fn wait_cancelled(cancel: CancelToken) {
        while !cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn generation(text: &str) -> Generation {
        Generation {
            text: text.to_owned(),
            stop: StopReason::EndOfGeneration,
            prompt_tokens: 1,
            reused_tokens: 0,
            generated_tokens: 1,
            first_token: Some(crate::engine::TokenId(1)),
            prefill_time: Duration::ZERO,
            decode_time: Duration::ZERO,
        }
    }

    fn job(name: &str) -> Job {
        let mut prompt = Prompt::default();
        prompt.push(crate::engine::Piece::Text(name.to_owned()));
        Job {
            prompt,
            max_tokens: 8,
            time_budget: Duration::from_secs(1),
            stop: StopRules::default(),
            sampling: crate::engine::Sampling::default(),
            cancel: CancelToken::new(),
            stream: None,
            required_prefix: String::new(),
            banned_first: Vec::new(),
        }
    }

    fn scheduler() -> (Scheduler, mpsc::UnboundedReceiver<(String, oneshot::Sender<()>)>) {
        let (started, rx) = mpsc::unbounded_channel();
        (Scheduler::new(Arc::new(ScriptedRunner { started })), rx)
    }

    fn text(outcome: Outcome) -> String {
        match outcome {
            Outcome::Done(it) => it.text,
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn newest_request_replaces_the_queued_one() {
        let (scheduler, mut started) = scheduler();
        let a = tokio::spawn(scheduler.submit("a.rs", arrival(), job("a1")));
        let (name, finish_a1) = started.recv().await.unwrap();
        assert_eq!(name, "a1");
        let b1 = tokio::spawn(scheduler.submit("b.rs", arrival(), job("b1")));
        let b2 = tokio::spawn(scheduler.submit("b.rs", arrival(), job("b2")));
        // b1 was queued and is answered at once, before a1 finishes.
        assert_eq!(text(b1.await.unwrap()), "Superseded");
        finish_a1.send(()).unwrap();
        assert_eq!(text(a.await.unwrap()), "a1");
        let (name, finish_b2) = started.recv().await.unwrap();
        assert_eq!(name, "b2");
        finish_b2.send(()).unwrap();
        assert_eq!(text(b2.await.unwrap()), "b2");
    }

    #[tokio::test]
    async fn a_newer_request_for_the_same_document_cancels_the_running_one() {
        let (scheduler, mut started) = scheduler();
        let first = tokio::spawn(scheduler.submit("a.rs", arrival(), job("x")));
        let _ = started.recv().await.unwrap();
        let second = tokio::spawn(scheduler.submit("a.rs", arrival(), job("xy")));
        assert_eq!(text(first.await.unwrap()), "Superseded");
        let (name, finish) = started.recv().await.unwrap();
        assert_eq!(name, "xy");
        finish.send(()).unwrap();
        assert_eq!(text(second.await.unwrap()), "xy");
    }

    #[tokio::test]
    async fn dropping_the_request_cancels_its_job() {
        let (scheduler, mut started) = scheduler();
        let request = tokio::spawn(scheduler.submit("a.rs", arrival(), job("x")));
        let _ = started.recv().await.unwrap();
        request.abort();
        let _ = request.await;
        // The runner saw the cancellation and the slot is free again.
        let next = tokio::spawn(scheduler.submit("b.rs", arrival(), job("y")));
        let (name, finish) = started.recv().await.unwrap();
        assert_eq!(name, "y");
        finish.send(()).unwrap();
        assert_eq!(text(next.await.unwrap()), "y");
    }

    #[tokio::test]
    async fn a_request_that_arrived_earlier_but_comes_later_loses_at_once() {
        let (scheduler, mut started) = scheduler();
        let (older, newer) = (arrival(), arrival());
        let running = tokio::spawn(scheduler.submit("a.rs", newer, job("newer")));
        let (name, finish) = started.recv().await.unwrap();
        assert_eq!(name, "newer");
        let late = scheduler.submit("a.rs", older, job("older"));
        assert_eq!(text(late.await), "Superseded", "answered before the newer one finishes");
        finish.send(()).unwrap();
        assert_eq!(text(running.await.unwrap()), "newer");
        // Behind a newer queued request (for any document) too.
        let blocker = tokio::spawn(scheduler.submit("b.rs", arrival(), job("b")));
        let (_, finish_b) = started.recv().await.unwrap();
        let (older, newer) = (arrival(), arrival());
        let queued = tokio::spawn(scheduler.submit("c.rs", newer, job("c")));
        tokio::task::yield_now().await;
        assert_eq!(text(scheduler.submit("d.rs", older, job("d")).await), "Superseded");
        finish_b.send(()).unwrap();
        assert_eq!(text(blocker.await.unwrap()), "b");
        let (name, finish_c) = started.recv().await.unwrap();
        assert_eq!(name, "c");
        finish_c.send(()).unwrap();
        assert_eq!(text(queued.await.unwrap()), "c");
    }

    #[tokio::test]
    async fn a_burst_gets_exactly_one_answer_each() {
        let (scheduler, mut started) = scheduler();
        let requests: Vec<_> = (0..50)
            .map(|i| tokio::spawn(scheduler.submit("a.rs", arrival(), job(&format!("r{i}")))))
            .collect();
        let finisher = tokio::spawn(async move {
            while let Some((_, finish)) = started.recv().await {
                let _ = finish.send(());
            }
        });
        let mut done = Vec::new();
        for request in requests {
            if let Outcome::Done(it) = request.await.unwrap() {
                done.push(it.text);
            }
        }
        finisher.abort();
        assert_eq!(done.last().map(String::as_str), Some("r49"), "the newest request is answered");
    }
}
