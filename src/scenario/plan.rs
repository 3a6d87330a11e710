//! A replay plan: what a scenario (or a shared run) does and what it claims, taken from a run
//! in the lab, ready to be done again on real servers (`repl-lab replay`, in `native::replay`).
//!
//! The lab runs the scenario headless, as its tests do. Each task of that run (the lab's setup,
//! each step, a challenge's solution and trial) becomes a [`Segment`]: the recorded actions with
//! their virtual times, the `until` the task waited for, and its checkpoints with the values the
//! lab gave. A replay does each segment's actions at the same offsets of wall-clock time, waits
//! for the same `until` on the real servers, and evaluates the same checkpoints there.
//!
//! A shared run has no checkpoints of its own: its plan is one segment whose checkpoints are
//! the lab's state at the end (each node's role, link, dataset size, offsets in step, PSYNC
//! outcomes), so a replay says whether real servers end where the lab did.

use super::action::Step as LineStep;
use super::cond::{eval, lab_only, Expr, Scope, Value};
use super::run::Runner;
use super::{Cond, Line, QuestionKind, Scenario};
use crate::node::Micros;
use crate::sim::session::{Action, Session};
use crate::sim::World;

/// What a checkpoint must give on real servers.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The condition holds (a check, a keyed choice, a goal) or does not (another choice).
    Holds(bool),
    /// A number question's value, within a tolerance.
    Near(f64, f64),
}

/// A condition of the plan with what the lab made of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// `step 3 check[1]`, `step 3 choice 2`, `step 6 goal`, `end`.
    pub place: String,
    pub text: String,
    pub expr: Expr,
    pub expect: Expect,
    /// The operands' values in the lab when the task ended (`B.master_link_status = up`).
    pub lab: String,
    /// Why real servers cannot show it (`sent(A, B, 'rdb'): messages on the lab's links`).
    pub lab_only: Option<String>,
}

impl Checkpoint {
    /// Whether a value of the condition meets what is expected.
    pub fn met_by(&self, v: &Value) -> bool {
        match self.expect {
            Expect::Holds(want) => v.holds() == want,
            Expect::Near(answer, tolerance) => {
                let n = match v {
                    Value::Num(n) => Some(*n),
                    Value::Str(s) => s.trim().parse().ok(),
                    _ => None,
                };
                n.is_some_and(|n| (n - answer).abs() <= tolerance)
            }
        }
    }
}

/// One task of the lab's run.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// `the lab's setup`, `step 3`, `step 6 solution`, `step 6 trial`, `the run`.
    pub name: String,
    /// Virtual µs the task began and ended at.
    pub start: Micros,
    pub end: Micros,
    /// The actions recorded in it, with their virtual times.
    pub actions: Vec<(Micros, Action)>,
    /// When its lines were done (its last `wait` over): the `until` is looked at from then.
    pub lines_end: Micros,
    /// What the task waited for after its actions, and how long it could.
    pub until: Option<Checkpoint>,
    pub timeout: Micros,
    pub checks: Vec<Checkpoint>,
    /// What the lab checked that a replay cannot do at all (a challenge's trial on a copy of
    /// the run), with why.
    pub skipped: Vec<(String, String)>,
}

/// A whole replay plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Where it came from (a scenario's id, or `shared run`).
    pub source: String,
    pub segments: Vec<Segment>,
}

impl Plan {
    /// Every action of the plan, in order.
    pub fn actions(&self) -> impl Iterator<Item = (&Segment, &Action)> {
        self.segments.iter().flat_map(|s| s.actions.iter().map(move |(_, a)| (s, a)))
    }
}

/// A checkpoint as the lab sees it at the end of a task that began at `since`; an error if
/// the lab itself does not meet it (the scenario would fail its own check).
fn checkpoint(place: String, c: &Cond, expect: Expect, world: &World, since: Micros) -> Result<Checkpoint, String> {
    let scope = Scope { world, since };
    let mut values = Vec::new();
    super::cond::operands(&c.expr, &mut |text, e| values.push(format!("{text} = {}", eval(e, &scope))));
    let cp = Checkpoint {
        place,
        text: c.text.clone(),
        expr: c.expr.clone(),
        expect,
        lab: values.join(", "),
        lab_only: lab_only(&c.expr),
    };
    if !cp.met_by(&eval(&c.expr, &scope)) {
        return Err(format!("{}: the lab itself does not meet `{}` ({})", cp.place, cp.text, cp.lab));
    }
    Ok(cp)
}

/// How long a task's lines take: their waits (actions take no time).
fn waits(lines: &[Line]) -> Micros {
    lines.iter().map(|l| if let LineStep::Wait(d) = l.step { d } else { 0 }).sum()
}

/// The actions recorded since the first `*taken`, which it then counts.
fn new_actions(session: &Session, taken: &mut usize) -> Vec<(Micros, Action)> {
    let all = session.actions();
    let fresh = all[(*taken).min(all.len())..].to_vec();
    *taken = all.len();
    fresh
}

/// Runs a scenario in the lab and returns its plan; an error names the task the lab could not
/// finish or the checkpoint it does not meet.
pub fn plan(scenario: &Scenario) -> Result<Plan, String> {
    let (mut r, mut session) = Runner::start(scenario.clone())?;
    let mut taken = 0;
    let mut segments = Vec::new();
    let lab = &scenario.lab;
    let ready =
        |w: &World| lab.ready.as_ref().map(|c| checkpoint("the lab's ready".into(), c, Expect::Holds(true), w, 0));
    segments.push(Segment {
        name: "the lab's setup".into(),
        start: 0,
        end: session.world().now(),
        actions: new_actions(&session, &mut taken),
        lines_end: waits(&lab.setup),
        until: ready(session.world()).transpose()?,
        timeout: lab.timeout,
        checks: Vec::new(),
        skipped: Vec::new(),
    });
    for (i, step) in scenario.steps.iter().enumerate() {
        let name = format!("step {}", i + 1);
        r.begin_step(&mut session, i)?;
        let report = r.finish(&mut session)?;
        let since = r.start_of(i).unwrap_or(0);
        let w = session.world();
        let mut checks = Vec::new();
        for (k, c) in step.checks.iter().enumerate() {
            checks.push(checkpoint(format!("{name} check[{}]", k + 1), c, Expect::Holds(true), w, since)?);
        }
        match step.question.as_ref().map(|q| &q.kind) {
            Some(QuestionKind::Choice { choices, answer }) => {
                for (k, ch) in choices.iter().enumerate() {
                    let place = format!("{name} choice {}", k + 1);
                    checks.push(checkpoint(place, &ch.when, Expect::Holds(k == *answer), w, since)?);
                }
            }
            Some(QuestionKind::Number { expr, answer, tolerance, .. }) => {
                let place = format!("{name} answer");
                checks.push(checkpoint(place, expr, Expect::Near(*answer, *tolerance), w, since)?);
            }
            None => {}
        }
        let until = step.until.as_ref().map(|c| checkpoint(format!("{name} until"), c, Expect::Holds(true), w, since));
        segments.push(Segment {
            name: name.clone(),
            start: since,
            end: report.time,
            actions: new_actions(&session, &mut taken),
            lines_end: since + waits(&step.actions),
            until: until.transpose()?,
            timeout: step.timeout,
            checks,
            skipped: Vec::new(),
        });
        let Some(ch) = &step.challenge else { continue };
        let start = session.world().now();
        r.begin_solution(&session, i)?;
        let done = r.finish(&mut session)?;
        segments.push(Segment {
            name: format!("{name} solution"),
            start,
            end: done.time,
            actions: new_actions(&session, &mut taken),
            lines_end: start + waits(&ch.solution),
            until: None,
            timeout: 0,
            checks: Vec::new(),
            skipped: vec![(
                format!("{name} challenge without its solution"),
                "the lab proves it on a copy of the run; real servers cannot be copied".into(),
            )],
        });
        let start = session.world().now();
        r.begin_trial(&session, i)?;
        let done = r.finish(&mut session)?;
        let goal = checkpoint(format!("{name} goal"), &ch.when, Expect::Holds(true), session.world(), start)?;
        segments.push(Segment {
            name: format!("{name} trial"),
            start,
            end: done.time,
            actions: new_actions(&session, &mut taken),
            lines_end: start + waits(&ch.trial),
            until: Some(goal),
            timeout: ch.timeout,
            checks: Vec::new(),
            skipped: Vec::new(),
        });
    }
    Ok(Plan { source: scenario.id.clone(), segments })
}

/// The plan of a shared run (the `#log=` format): its actions, then the lab's state at the
/// moment it was shared as checkpoints.
pub fn plan_log(log: &str) -> Result<Plan, String> {
    let mut session = Session::from_log(log).map_err(|e| e.to_string())?;
    let end = session.horizon();
    session.seek(end);
    let w = session.world();
    let mut checks = Vec::new();
    for cond in end_state(w) {
        checks.push(checkpoint(format!("end: {}", cond.text), &cond, Expect::Holds(true), w, 0)?);
    }
    Ok(Plan {
        source: "shared run".into(),
        segments: vec![Segment {
            name: "the run".into(),
            start: 0,
            end,
            actions: session.actions().to_vec(),
            lines_end: end,
            until: None,
            timeout: 0,
            checks,
            skipped: Vec::new(),
        }],
    })
}

/// Conditions that say where the lab's nodes are: each node's role, a replica's master and
/// link, the dataset's size, a replica's offset when it is level with its master's, and each
/// master's PSYNC outcomes over the run.
fn end_state(w: &World) -> Vec<Cond> {
    let mut out = Vec::new();
    let scope = Scope { world: w, since: 0 };
    let mut say = |expr: Expr| out.push(Cond { text: expr.to_string(), expr, line: None });
    let is = |a: Expr, b: Expr| Expr::Cmp(super::cond::CmpOp::Eq, Box::new(a), Box::new(b));
    let info = |i: usize, f: &str| Expr::Info(i, f.into());
    let value = |e: &Expr| eval(e, &scope);
    let literal = |v: Value| match v {
        Value::Num(n) => Expr::Num(n),
        Value::Bool(b) => Expr::Bool(b),
        Value::Str(s) => Expr::Str(s),
        Value::Absent => Expr::Str(String::new()),
    };
    for i in w.present_nodes() {
        if !w.is_up(i) {
            say(Expr::Not(Box::new(Expr::Up(i))));
            continue;
        }
        for f in ["role", "master_port", "master_link_status"] {
            let v = value(&info(i, f));
            if v != Value::Absent {
                say(is(info(i, f), literal(v)));
            }
        }
        let dbsize = Expr::Reply(i, "DBSIZE".into());
        say(is(dbsize.clone(), literal(value(&dbsize))));
        let master = value(&info(i, "master_port")).num().map(|p| p as usize);
        let master = master.and_then(|p| p.checked_sub(crate::sim::BASE_PORT as usize));
        if let Some(m) = master.filter(|m| w.is_present(*m) && w.is_up(*m)) {
            let level = is(info(i, "slave_repl_offset"), info(m, "master_repl_offset"));
            if value(&level).holds() {
                say(level);
            }
        }
        for kind in ["psync-continue", "psync-full"] {
            let count = Expr::Count(i, kind.into());
            let n = value(&count);
            if n.num().is_some_and(|n| n > 0.0) {
                say(is(count, literal(n)));
            }
        }
    }
    out
}
