//! The compiled rule set and its evaluation.
//!
//! Rules are kept in evaluation order (priority ascending, ties in load order).
//! An index maps the values of routing fields that a rule *requires* to be equal
//! (`action.action_type eq X`, `action.tenant in_list [..]`…) to the rules that
//! require them; evaluation merges the candidate lists for the action at hand
//! with the unindexed rules, so it only looks at rules that can match.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use switchyard_core::Action;

use crate::action::RuleAction;
use crate::condition::{Condition, Fields, OnTypeError, Operator, TypeMismatch};
use crate::error::{RuleError, SourceLocation};
use crate::path::{FieldPath, Resolved};
use crate::time::LocalTime;

/// How matching rules combine (see the compatibility digest, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationMode {
    /// The first matching rule decides (Acteon's engine).
    #[default]
    FirstMatch,
    /// modify/deduplicate/throttle/group/schedule apply and evaluation continues.
    Gates,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub priority: i32,
    pub description: Option<String>,
    pub(crate) enabled: AtomicBool,
    pub timezone: Option<Tz>,
    pub metadata: BTreeMap<String, String>,
    pub condition: Condition,
    pub action: RuleAction,
    pub source: SourceLocation,
    pub(crate) uses_time: bool,
}

impl Rule {
    /// Whether the condition holds for `ctx`, evaluated on this rule alone
    /// (no index, enabled or not): the oracle the index is tested against.
    pub fn condition_holds(&self, ctx: &EvalContext<'_>) -> bool {
        self.condition.evaluate(&ctx.fields_for(self))
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }
}

/// What `GET /v1/rules` lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSummary {
    pub name: String,
    pub priority: i32,
    pub enabled: bool,
    pub description: Option<String>,
    pub action_type: &'static str,
    pub source: String,
}

/// The routing fields rules are indexed on, most selective first.
const INDEXED_FIELDS: [FieldPath; 4] = [
    FieldPath::ActionType,
    FieldPath::Tenant,
    FieldPath::Provider,
    FieldPath::Namespace,
];

#[derive(Debug, Default)]
struct RuleIndex {
    unindexed: Vec<u32>,
    by_field: [HashMap<Box<str>, Vec<u32>>; 4],
}

#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    index: RuleIndex,
    default_timezone: Tz,
}

impl RuleSet {
    /// Order rules by priority (stable: ties keep load order), refuse duplicate
    /// names, and build the index.
    pub fn new(mut rules: Vec<Rule>, default_timezone: Tz) -> Result<RuleSet, RuleError> {
        let mut seen: HashMap<&str, &SourceLocation> = HashMap::new();
        for rule in &rules {
            if let Some(first) = seen.insert(&rule.name, &rule.source) {
                return Err(RuleError {
                    location: rule.source.clone(),
                    rule: Some(rule.name.clone()),
                    message: format!("duplicate rule name (first defined at {first})"),
                });
            }
        }
        rules.sort_by_key(|r| r.priority);
        let mut index = RuleIndex::default();
        for (position, rule) in rules.iter().enumerate() {
            let position = position as u32;
            match index_key(&rule.condition) {
                Some((field, values)) => {
                    for value in values {
                        let list = index.by_field[field].entry(value.into()).or_default();
                        if list.last() != Some(&position) {
                            list.push(position);
                        }
                    }
                }
                None => index.unindexed.push(position),
            }
        }
        Ok(RuleSet {
            rules,
            index,
            default_timezone,
        })
    }

    pub fn empty(default_timezone: Tz) -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            index: RuleIndex::default(),
            default_timezone,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn default_timezone(&self) -> Tz {
        self.default_timezone
    }

    pub fn get(&self, position: usize) -> Option<&Rule> {
        self.rules.get(position)
    }

    pub fn summaries(&self) -> Vec<RuleSummary> {
        self.rules
            .iter()
            .map(|r| RuleSummary {
                name: r.name.clone(),
                priority: r.priority,
                enabled: r.is_enabled(),
                description: r.description.clone(),
                action_type: r.action.type_name(),
                source: r.source.to_string(),
            })
            .collect()
    }

    /// Enable or disable a rule by name; false when there is no such rule.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> bool {
        match self.rules.iter().find(|r| r.name == name) {
            Some(rule) => {
                rule.enabled.store(enabled, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Where evaluation resumes for an action deferred by rule `name` (priority
    /// `priority`), even if the rule set was reloaded since: after that rule, or
    /// after every rule of the same or higher precedence when it is gone.
    pub fn resume_position(&self, name: &str, priority: i32) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.name == name)
            .or_else(|| self.rules.iter().rposition(|r| r.priority <= priority))
    }

    /// Matching rules in evaluation order, lazily; `after` skips every rule up to
    /// and including that position.
    pub fn matches<'s, 'c, 'a>(
        &'s self,
        ctx: &'c EvalContext<'a>,
        after: Option<usize>,
    ) -> Matches<'s, 'c, 'a> {
        let action = ctx.action;
        let lookup = |i: usize, value: &str| -> &'s [u32] {
            self.index.by_field[i]
                .get(value)
                .map_or(&[][..], |v| v.as_slice())
        };
        Matches {
            set: self,
            ctx,
            lists: [
                &self.index.unindexed,
                lookup(0, &action.action_type),
                lookup(1, &action.tenant),
                lookup(2, &action.provider),
                lookup(3, &action.namespace),
            ],
            cursors: [0; 5],
            after: after.map(|p| p as u32),
            strict: false,
            error: None,
        }
    }

    /// The first matching rule after position `after`. With
    /// [`OnTypeError::Reject`], a comparison on a value of the wrong type
    /// fails the evaluation, naming the rule and the field.
    pub fn next_match<'s>(
        &'s self,
        ctx: &EvalContext<'_>,
        after: Option<usize>,
        on_type_error: OnTypeError,
    ) -> Result<Option<(usize, &'s Rule)>, RuleTypeError> {
        let mut matches = self.matches(ctx, after);
        matches.strict = on_type_error == OnTypeError::Reject;
        let found = matches.next();
        match matches.error.take() {
            Some(error) => Err(error),
            None => Ok(found),
        }
    }

    /// The first matching rule, if any.
    pub fn first_match<'s>(&'s self, ctx: &EvalContext<'_>) -> Option<(usize, &'s Rule)> {
        self.matches(ctx, None).next()
    }
}

/// The routing field and values a condition requires, if any.
fn index_key(condition: &Condition) -> Option<(usize, Vec<String>)> {
    let candidates: Vec<(usize, Vec<String>)> = match condition {
        Condition::All(items) => items.iter().filter_map(required_equality).collect(),
        other => required_equality(other).into_iter().collect(),
    };
    // Fewest values first (most selective), then the field order of INDEXED_FIELDS.
    candidates
        .into_iter()
        .min_by_key(|(field, values)| (values.len(), *field))
}

fn required_equality(condition: &Condition) -> Option<(usize, Vec<String>)> {
    let Condition::Field {
        path, operators, ..
    } = condition
    else {
        return None;
    };
    let field = INDEXED_FIELDS.iter().position(|f| f == path)?;
    operators.iter().find_map(|op| match op {
        Operator::Eq(lit) => lit.as_str().map(|s| (field, vec![s.to_string()])),
        Operator::InList(items) if !items.is_empty() => items
            .iter()
            .map(|lit| lit.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(|values| (field, values)),
        _ => None,
    })
}

/// One evaluation: the action, the instant, and the local-time fields computed
/// once per time zone that a rule asks for.
pub struct EvalContext<'a> {
    pub action: &'a Action,
    pub now: DateTime<Utc>,
    default_timezone: Tz,
    local_times: RefCell<Vec<(Tz, LocalTime)>>,
}

impl<'a> EvalContext<'a> {
    pub fn new(action: &'a Action, now: DateTime<Utc>, default_timezone: Tz) -> Self {
        Self {
            action,
            now,
            default_timezone,
            local_times: RefCell::new(Vec::new()),
        }
    }

    fn local_time(&self, zone: Tz) -> LocalTime {
        let mut cache = self.local_times.borrow_mut();
        if let Some((_, t)) = cache.iter().find(|(z, _)| *z == zone) {
            return *t;
        }
        let t = LocalTime::at(self.now, zone);
        cache.push((zone, t));
        t
    }

    pub(crate) fn fields_for<'c>(&'c self, rule: &Rule) -> RuleFields<'c, 'a> {
        RuleFields {
            ctx: self,
            zone: if rule.uses_time {
                rule.timezone.unwrap_or(self.default_timezone)
            } else {
                self.default_timezone
            },
        }
    }
}

pub(crate) struct RuleFields<'c, 'a> {
    ctx: &'c EvalContext<'a>,
    zone: Tz,
}

impl Fields for RuleFields<'_, '_> {
    fn resolve(&self, path: &FieldPath) -> Option<Resolved<'_>> {
        path.resolve(self.ctx.action, || self.ctx.local_time(self.zone))
    }
}

/// Iterator over matching rules (see [`RuleSet::matches`]).
pub struct Matches<'s, 'c, 'a> {
    set: &'s RuleSet,
    ctx: &'c EvalContext<'a>,
    lists: [&'s [u32]; 5],
    cursors: [usize; 5],
    after: Option<u32>,
    /// Type errors fail the evaluation (stored in `error`, iteration ends).
    strict: bool,
    error: Option<RuleTypeError>,
}

/// A rule's comparison met a value of the wrong type (under
/// [`OnTypeError::Reject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTypeError {
    pub rule: String,
    pub mismatch: TypeMismatch,
}

impl std::fmt::Display for RuleTypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule '{}': {}", self.rule, self.mismatch)
    }
}

impl<'s> Matches<'s, '_, '_> {
    /// The next candidate position across the sorted lists.
    fn next_candidate(&mut self) -> Option<u32> {
        let mut best: Option<(usize, u32)> = None;
        for (i, list) in self.lists.iter().enumerate() {
            if let Some(&pos) = list.get(self.cursors[i])
                && best.is_none_or(|(_, b)| pos < b)
            {
                best = Some((i, pos));
            }
        }
        let (list, pos) = best?;
        self.cursors[list] += 1;
        Some(pos)
    }
}

impl<'s> Iterator for Matches<'s, '_, '_> {
    type Item = (usize, &'s Rule);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(pos) = self.next_candidate() {
            if self.after.is_some_and(|after| pos <= after) {
                continue;
            }
            let rule = &self.set.rules[pos as usize];
            if !rule.is_enabled() {
                continue;
            }
            let fields = self.ctx.fields_for(rule);
            let matched = if self.strict {
                match rule.condition.evaluate_strict(&fields) {
                    Ok(matched) => matched,
                    Err(mismatch) => {
                        self.error = Some(RuleTypeError {
                            rule: rule.name.clone(),
                            mismatch,
                        });
                        return None;
                    }
                }
            } else {
                rule.condition.evaluate(&fields)
            };
            if matched {
                return Some((pos as usize, rule));
            }
        }
        None
    }
}
