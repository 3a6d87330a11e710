//! The guided chapters in the page: the scenario runner of [`crate::scenario`] over the lab's
//! own session, so a chapter's run is the lab's run (time travel, shared links, consoles).
//!
//! The page loads a scenario file's text (`loadScenario` checks it and returns it for display, or
//! throws a `bad-scenario` error whose `errors` list each problem with its line), starts a lab
//! from it (`Lab.fromScenario`), then asks for a step to run, for going back, for a challenge's
//! trial or its solution. While a task runs, [`Lab::advance`] stops at each moment the runner
//! must look at the world (its next action, its next poll), exactly as the headless tests do, so
//! the page's run of a chapter is the run the tests checked.

use wasm_bindgen::prelude::*;

use super::{coded, to_js, Lab};
use crate::node::Micros;
use crate::scenario::run::{Progress, Runner};
use crate::scenario::{load, Scenario, ScenarioError};
use crate::sim::session::Session;

/// A lab's chapter: the runner and what its last task came to.
pub(super) struct Guide {
    runner: Runner,
    progress: Progress,
}

fn bad_scenario(errors: &[ScenarioError]) -> JsValue {
    let summary = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    let e = coded("bad-scenario", &summary);
    if let Ok(list) = to_js(&errors) {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&e, &JsValue::from_str("errors"), &list);
    }
    e
}

fn checked(id: &str, text: &str) -> Result<Scenario, JsValue> {
    load(id, text).map_err(|errors| bad_scenario(&errors))
}

/// Checks a scenario file: the scenario as the page shows it (titles, steps, narration as
/// inline pieces per language, questions, challenges), or an error `bad-scenario` with `errors`.
#[wasm_bindgen(js_name = loadScenario)]
pub fn load_scenario(id: &str, text: &str) -> Result<JsValue, JsValue> {
    to_js(&checked(id, text)?).map_err(Into::into)
}

impl Guide {
    /// Runs the task under way up to `t`, looking at the world at each moment the runner asks
    /// for (and only then, as the headless run does).
    pub(super) fn run_until(&mut self, session: &mut Session, t: Micros) {
        while let Some(wake) = self.runner.wake_at(session) {
            if wake > t {
                break;
            }
            session.run_until(wake);
            self.progress = self.runner.poll(session);
        }
        session.run_until(t);
    }

    /// When the task under way next looks at the world.
    pub(super) fn wake_at(&self, session: &Session) -> Option<Micros> {
        self.runner.wake_at(session)
    }

    /// The learner moved back in time: a task under way stops there.
    pub(super) fn cancel(&mut self) {
        if self.runner.task().is_some() {
            self.runner.cancel();
            self.progress = Progress::Idle;
        }
    }
}

#[wasm_bindgen]
impl Lab {
    /// A lab set up by a scenario file (its lab built, ready for step 1), or an error
    /// `bad-scenario` listing each problem, or `scenario-failed` if its setup did not complete.
    #[wasm_bindgen(js_name = fromScenario)]
    pub fn from_scenario(id: &str, text: &str) -> Result<Lab, JsValue> {
        super::install_panic_hook();
        let scenario = checked(id, text)?;
        let (mut runner, session) = Runner::start(scenario).map_err(|e| coded("scenario-failed", &e))?;
        // The setup's lines are in the session's history, which the page shows at once.
        runner.take_typed();
        Ok(Lab { session, guide: Some(Guide { runner, progress: Progress::Idle }) })
    }

    fn guide(&mut self) -> Result<&mut Guide, JsValue> {
        self.guide.as_mut().ok_or_else(|| coded("no-scenario", "this lab was not started from a scenario"))
    }

    /// The lab's scenario as `loadScenario` returns it (null for a free lab).
    pub fn scenario(&self) -> Result<JsValue, JsValue> {
        match &self.guide {
            Some(g) => to_js(g.runner.scenario()).map_err(Into::into),
            None => Ok(JsValue::NULL),
        }
    }

    /// Runs `act` on the lab's chapter and session (an error `no-scenario` for a free lab, and
    /// `bad-step` for what the runner refuses).
    fn with_guide<T>(&mut self, act: impl FnOnce(&mut Guide, &mut Session) -> Result<T, String>) -> Result<T, JsValue> {
        let Lab { session, guide, .. } = self;
        let g = guide.as_mut().ok_or_else(|| coded("no-scenario", "this lab was not started from a scenario"))?;
        act(g, session).map_err(|e| coded("bad-step", &e))
    }

    /// Runs step `i` (0-based): its actions play out as virtual time goes on.
    #[wasm_bindgen(js_name = scenarioBegin)]
    pub fn scenario_begin(&mut self, i: usize) -> Result<(), JsValue> {
        self.with_guide(|g, session| {
            g.runner.begin_step(session, i)?;
            g.progress = g.runner.poll(session);
            Ok(())
        })
    }

    /// Goes back to the moment step `i` began, before its actions (time travel).
    #[wasm_bindgen(js_name = scenarioBack)]
    pub fn scenario_back(&mut self, i: usize) -> Result<(), JsValue> {
        self.with_guide(|g, session| {
            g.runner.back_to(session, i)?;
            g.progress = Progress::Idle;
            Ok(())
        })
    }

    /// Runs step `i`'s challenge trial; the goal is looked at until its timeout.
    #[wasm_bindgen(js_name = scenarioTrial)]
    pub fn scenario_trial(&mut self, i: usize) -> Result<(), JsValue> {
        self.with_guide(|g, session| {
            g.runner.begin_trial(session, i)?;
            g.progress = g.runner.poll(session);
            Ok(())
        })
    }

    /// Applies step `i`'s reference solution.
    #[wasm_bindgen(js_name = scenarioSolution)]
    pub fn scenario_solution(&mut self, i: usize) -> Result<(), JsValue> {
        self.with_guide(|g, session| {
            g.runner.begin_solution(session, i)?;
            g.progress = g.runner.poll(session);
            Ok(())
        })
    }

    /// Where the last task is: `{state: 'idle' | 'running' | 'done' | 'failed', ...}` with the
    /// report (checks, the answer key against the run, a trial's verdict) once done.
    #[wasm_bindgen(js_name = scenarioProgress)]
    pub fn scenario_progress(&mut self) -> Result<JsValue, JsValue> {
        let g = self.guide()?;
        to_js(&g.progress).map_err(Into::into)
    }

    /// Runs the task under way to its end at once (a step's remaining actions and its
    /// `until`, flat out, as the tests do).
    #[wasm_bindgen(js_name = scenarioFinish)]
    pub fn scenario_finish(&mut self) -> Result<(), JsValue> {
        self.with_guide(|g, session| {
            // Nothing under way (it ended, or a seek dropped it): nothing to finish.
            let Some(task) = g.runner.task() else { return Ok(()) };
            g.progress = match g.runner.finish(session) {
                Ok(report) => Progress::Done { report },
                Err(message) => Progress::Failed { task, message },
            };
            Ok(())
        })
    }

    /// The run so far as a scenario file for an author to finish ("save as scenario").
    #[wasm_bindgen(js_name = scenarioSkeleton)]
    pub fn scenario_skeleton(&self) -> String {
        crate::scenario::skeleton::skeleton(&self.session)
    }

    /// The console lines the chapter typed since the last call: `[{node, line, reply}]`.
    #[wasm_bindgen(js_name = scenarioTyped)]
    pub fn scenario_typed(&mut self) -> Result<JsValue, JsValue> {
        match &mut self.guide {
            Some(g) => to_js(&g.runner.take_typed()).map_err(Into::into),
            None => Ok(js_sys::Array::new().into()),
        }
    }

    /// Whether step `i`'s challenge goal holds now.
    #[wasm_bindgen(js_name = scenarioGoal)]
    pub fn scenario_goal(&mut self, i: usize) -> Result<bool, JsValue> {
        self.with_guide(|g, session| g.runner.goal_met(session, i))
    }
}
