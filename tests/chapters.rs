//! The course's chapters (`www/scenarios/*.toml`), run headless from their lab to their last
//! step, natively and on wasm32: every checkpoint and answer key holds, every challenge is not
//! met by its trial alone and is met after its reference solution. Each answer key, changed to
//! a wrong one, is reported wrong by the runner, so a key that agrees is a key that was checked.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use redis_repl_lab::scenario::run::{check, Runner};
use redis_repl_lab::scenario::{load, Scenario};

/// Every chapter, by id (its file name), with its text: compiled in, so the wasm32 run has them.
macro_rules! chapters {
    ($($id:literal),* $(,)?) => {
        &[$(($id, include_str!(concat!("../www/scenarios/", $id, ".toml")))),*]
    };
}
const CHAPTERS: &[(&str, &str)] = chapters![
    "01-first-full-sync",
    "02-diskless-sync",
    "03-writes-during-transfer",
    "04-propagation",
    "05-short-disconnect",
    "06-backlog-overflow",
    "07-heartbeats-and-timeouts",
    "08-stale-reads",
    "09-wait-and-min-replicas",
    "10-output-buffer-limit",
    "11-chained-replicas",
    "12-promotion",
    "13-sentinel-failover",
    "14-failover-command",
    "15-restarts",
    "16-expiry",
    "17-legacy-sync",
    "18-three-myths",
];

fn scenario(id: &str, text: &str) -> Scenario {
    match load(id, text) {
        Ok(s) => s,
        Err(errors) => panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")),
    }
}

#[test]
fn every_chapter_runs_to_its_end_with_every_check_and_answer_key_holding() {
    for (id, text) in CHAPTERS {
        let s = scenario(id, text);
        let items = check(&s);
        let failed: Vec<String> =
            items.iter().filter(|i| !i.ok).map(|i| format!("{id}: {}: {}", i.place, i.detail)).collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        let steps = items.iter().filter(|i| i.place.ends_with("answer")).count();
        let questions = s.steps.iter().filter(|st| st.question.is_some()).count();
        assert_eq!(steps, questions, "{id}: every question's key was checked");
        assert!(questions >= 1, "{id}: each chapter asks for at least one prediction");
    }
}

/// Each key, changed to another choice (or to a number off by more than its tolerance), is
/// reported as disagreeing with the run. Every question of a chapter is changed at once, so a
/// chapter runs once per wrong choice of its widest question. (Natively only: the runner is the
/// same code on wasm32, where the first test already runs every chapter.)
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_wrong_answer_key_is_reported_wrong() {
    use redis_repl_lab::scenario::run::AnswerResult;
    use redis_repl_lab::scenario::QuestionKind;
    for (id, text) in CHAPTERS {
        let s = scenario(id, text);
        let widest = s
            .steps
            .iter()
            .filter_map(|st| match &st.question.as_ref()?.kind {
                QuestionKind::Choice { choices, .. } => Some(choices.len() - 1),
                QuestionKind::Number { .. } => Some(1),
            })
            .max()
            .unwrap_or(0);
        for round in 0..widest {
            let mut m = s.clone();
            for step in &mut m.steps {
                let Some(q) = step.question.as_mut() else { continue };
                match &mut q.kind {
                    QuestionKind::Choice { choices, answer } => {
                        let wrong: Vec<usize> = (0..choices.len()).filter(|k| k != answer).collect();
                        *answer = wrong[round % wrong.len()];
                    }
                    QuestionKind::Number { answer, tolerance, .. } => *answer += *tolerance + 1.0,
                }
            }
            let (mut r, mut session) = Runner::start(m.clone()).unwrap();
            for (i, step) in m.steps.iter().enumerate() {
                r.begin_step(&mut session, i).unwrap();
                let report = r.finish(&mut session).unwrap();
                if step.challenge.is_some() {
                    r.begin_solution(&session, i).and_then(|()| r.finish(&mut session)).unwrap();
                    r.begin_trial(&session, i).and_then(|()| r.finish(&mut session)).unwrap();
                }
                let Some(answer) = report.answer else { continue };
                assert!(!answer.agrees(), "{id} step {}: a wrong key passed: {answer:?}", i + 1);
                if let AnswerResult::Choice { holds, .. } = &answer {
                    assert_eq!(holds.iter().filter(|h| **h).count(), 1, "{id} step {}: one choice is true", i + 1);
                }
            }
        }
    }
}

/// Going back to a step is exact: running it again gives the same world as the first time.
#[test]
fn going_back_to_a_step_and_running_it_again_gives_the_same_run() {
    let (id, text) = CHAPTERS[0];
    let (mut r, mut session) = Runner::start(scenario(id, text)).unwrap();
    r.begin_step(&mut session, 0).unwrap();
    r.finish(&mut session).unwrap();
    let t1 = r.start_of(0).unwrap();
    let digest = session.world().trace_digest();
    r.back_to(&mut session, 0).unwrap();
    assert_eq!(session.world().now(), t1);
    r.begin_step(&mut session, 0).unwrap();
    r.finish(&mut session).unwrap();
    assert_eq!(session.world().trace_digest(), digest);
}

/// Every file in `www/scenarios` is a chapter the tests run.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_scenario_file_is_in_the_chapter_list() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/www/scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".toml").map(String::from))
        .collect();
    files.sort();
    let listed: Vec<String> = CHAPTERS.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(files, listed);
    // The page's chapter list (www/lab/chapters.js) names the same files, in order.
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/lab/chapters.js")).unwrap();
    let block = page.split("CHAPTERS = Object.freeze([").nth(1).and_then(|b| b.split("]);").next()).unwrap();
    let in_page: Vec<String> =
        block.split(',').map(|s| s.trim().trim_matches('\'').to_string()).filter(|s| !s.is_empty()).collect();
    assert_eq!(in_page, listed);
}

/// Every text of every chapter is in English and in Chinese.
#[test]
fn every_chapter_speaks_english_and_chinese() {
    for (id, text) in CHAPTERS {
        let s = scenario(id, text);
        for t in s.texts() {
            assert!(t.0.contains_key("en") && t.0.contains_key("zh-CN"), "{id}: {:?}", t.plain("en"));
        }
    }
}

/// At least five chapters end with a challenge, each with a hint and a reference solution
/// (replayed by the first test).
#[test]
fn at_least_five_chapters_end_with_a_challenge() {
    let with: Vec<&str> = CHAPTERS
        .iter()
        .filter(|(id, text)| scenario(id, text).steps.last().is_some_and(|s| s.challenge.is_some()))
        .map(|(id, _)| *id)
        .collect();
    assert!(with.len() >= 5, "{with:?}");
}

/// The complete example of docs/scenarios.md loads and runs with every item holding.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_authoring_guides_example_runs() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scenarios.md")).unwrap();
    let example = guide.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
    let s = scenario("my-first-chapter", example);
    let items = check(&s);
    assert!(items.iter().all(|i| i.ok), "{items:?}");
    assert_eq!(items.iter().filter(|i| i.place.ends_with("answer")).count(), 1);
}

/// Back, then time played on (the learner pressed Play), then the step run again: the step's
/// first run does not replay under the second, so it applies once.
#[test]
fn back_then_play_then_run_applies_the_step_once() {
    let (id, text) = CHAPTERS.iter().find(|(id, _)| *id == "05-short-disconnect").copied().unwrap();
    let (mut r, mut session) = Runner::start(scenario(id, text)).unwrap();
    r.begin_step(&mut session, 0).unwrap();
    assert!(r.finish(&mut session).unwrap().checks.iter().all(|c| c.holds));
    r.back_to(&mut session, 0).unwrap();
    let later = session.world().now() + 5_000_000;
    session.run_until(later);
    r.begin_step(&mut session, 0).unwrap();
    let report = r.finish(&mut session).unwrap();
    assert!(report.checks.iter().all(|c| c.holds), "{:?}", report.checks);
}
