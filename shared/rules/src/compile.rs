//! Raw YAML → compiled rules, with every semantic error located.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use regex::RegexBuilder;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::action::{ACTION_TYPES, MAX_SCHEDULE_DELAY_SECONDS, RuleAction};
use crate::condition::{Condition, Operator};
use crate::engine::Rule;
use crate::error::{RuleError, SourceLocation};
use crate::path::FieldPath;
use crate::raw::{RawAction, RawCondition, RawItems, RawRule};
use crate::time::parse_timezone;
use crate::value::Literal;

/// Deepest nesting of all/any/not accepted (guards against pathological files).
const MAX_CONDITION_DEPTH: usize = 32;
/// Compiled regexes are bounded so one rule cannot eat the heap.
const MAX_REGEX_SIZE: usize = 1 << 20;

/// Compiles the rules of one file, remembering the file and the rule for errors.
pub(crate) struct Compiler<'a> {
    file: &'a Arc<str>,
    rule: Option<String>,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(file: &'a Arc<str>) -> Self {
        Self { file, rule: None }
    }

    pub(crate) fn location(&self, at: &Location) -> SourceLocation {
        SourceLocation {
            file: self.file.clone(),
            line: at.line(),
            column: at.column(),
        }
    }

    fn error(&self, at: &Location, message: impl Into<String>) -> RuleError {
        RuleError {
            location: self.location(at),
            rule: self.rule.clone(),
            message: message.into(),
        }
    }

    pub(crate) fn rule(&mut self, raw: Spanned<RawRule>) -> Result<Rule, RuleError> {
        let at = raw.referenced;
        let raw = raw.value;
        let name = raw.name.value.trim().to_string();
        if name.is_empty() {
            return Err(self.error(&raw.name.referenced, "rule name must not be empty"));
        }
        self.rule = Some(name.clone());
        let timezone = raw
            .timezone
            .as_ref()
            .map(|tz| parse_timezone(&tz.value).map_err(|e| self.error(&tz.referenced, e)))
            .transpose()?;
        let condition = self.condition(&raw.condition, 0)?;
        let action = self.action(&raw.action)?;
        Ok(Rule {
            name,
            priority: raw.priority,
            description: raw.description,
            enabled: AtomicBool::new(raw.enabled),
            timezone,
            metadata: raw.metadata,
            uses_time: condition.uses_time(),
            condition,
            action,
            source: self.location(&at),
        })
    }

    fn condition(&self, raw: &Spanned<RawCondition>, depth: usize) -> Result<Condition, RuleError> {
        let at = &raw.referenced;
        if depth > MAX_CONDITION_DEPTH {
            return Err(self.error(
                at,
                format!("conditions nest deeper than {MAX_CONDITION_DEPTH} levels"),
            ));
        }
        let c = &raw.value;
        let shapes = [
            c.field.is_some(),
            c.all.is_some(),
            c.any.is_some(),
            c.not.is_some(),
        ];
        if shapes.iter().filter(|present| **present).count() != 1 {
            return Err(self.error(
                at,
                "a condition needs exactly one of `field` (with operators), `all`, `any` or `not`",
            ));
        }
        let operators = self.operators(c)?;
        if let Some(field) = &c.field {
            let path =
                FieldPath::parse(&field.value).map_err(|e| self.error(&field.referenced, e))?;
            if operators.is_empty() {
                return Err(self.error(
                    &field.referenced,
                    format!(
                        "predicate on '{}' has no operator (use eq, ne, gt, gte, lt, lte, contains, starts_with, ends_with, matches, in_list, not_in_list or exists)",
                        field.value
                    ),
                ));
            }
            return Ok(Condition::Field {
                name: field.value.clone(),
                path,
                operators,
            });
        }
        if !operators.is_empty() {
            return Err(self.error(at, "operators go with `field`, not with all/any/not"));
        }
        let list = |items: &Vec<Spanned<RawCondition>>| {
            items
                .iter()
                .map(|item| self.condition(item, depth + 1))
                .collect::<Result<Vec<_>, _>>()
        };
        // A constant operand: `all()` always holds, `any()` never does.
        let constant = |holds: bool| {
            if holds {
                Condition::All(Vec::new())
            } else {
                Condition::Any(Vec::new())
            }
        };
        match (&c.all, &c.any) {
            (Some(RawItems::List(items)), _) => return Ok(Condition::All(list(items)?)),
            (_, Some(RawItems::List(items))) => return Ok(Condition::Any(list(items)?)),
            (Some(RawItems::Constant(b)), _) | (_, Some(RawItems::Constant(b))) => {
                return Ok(constant(*b));
            }
            (None, None) => {}
        }
        match &c.not {
            Some(inner) => Ok(Condition::Not(Box::new(self.condition(inner, depth + 1)?))),
            None => Err(self.error(at, "empty condition")),
        }
    }

    fn operators(&self, c: &RawCondition) -> Result<Vec<Operator>, RuleError> {
        let mut ops = Vec::new();
        let ordered = [
            (&c.gt, Operator::Gt as fn(Literal) -> Operator, "gt"),
            (&c.gte, Operator::Gte, "gte"),
            (&c.lt, Operator::Lt, "lt"),
            (&c.lte, Operator::Lte, "lte"),
        ];
        if let Some(v) = &c.eq {
            ops.push(Operator::Eq(Literal::new(v.value.clone())));
        }
        if let Some(v) = &c.ne {
            ops.push(Operator::Ne(Literal::new(v.value.clone())));
        }
        for (raw, make, name) in ordered {
            if let Some(v) = raw {
                if !(v.value.is_number() || v.value.is_string()) {
                    return Err(self.error(
                        &v.referenced,
                        format!("`{name}` compares with a number or a string"),
                    ));
                }
                ops.push(make(Literal::new(v.value.clone())));
            }
        }
        if let Some(v) = &c.contains {
            if v.value.is_array() || v.value.is_object() {
                return Err(self.error(&v.referenced, "`contains` takes a single value"));
            }
            ops.push(Operator::Contains(Literal::new(v.value.clone())));
        }
        if let Some(v) = &c.starts_with {
            ops.push(Operator::StartsWith(self.string(v, "starts_with")?));
        }
        if let Some(v) = &c.ends_with {
            ops.push(Operator::EndsWith(self.string(v, "ends_with")?));
        }
        if let Some(v) = &c.matches {
            let pattern = self.string(v, "matches")?;
            let regex = RegexBuilder::new(&pattern)
                .size_limit(MAX_REGEX_SIZE)
                .build()
                .map_err(|e| self.error(&v.referenced, format!("invalid regex: {e}")))?;
            ops.push(Operator::Matches(regex));
        }
        if let Some(v) = &c.in_list {
            ops.push(Operator::InList(self.list(v, "in_list")?));
        }
        if let Some(v) = &c.not_in_list {
            ops.push(Operator::NotInList(self.list(v, "not_in_list")?));
        }
        if let Some(v) = &c.exists {
            match v.value {
                Value::Bool(b) => ops.push(Operator::Exists(b)),
                _ => return Err(self.error(&v.referenced, "`exists` takes true or false")),
            }
        }
        Ok(ops)
    }

    fn string(&self, v: &Spanned<Value>, op: &str) -> Result<String, RuleError> {
        match &v.value {
            Value::String(s) => Ok(s.clone()),
            _ => Err(self.error(&v.referenced, format!("`{op}` takes a string"))),
        }
    }

    fn list(&self, v: &Spanned<Value>, op: &str) -> Result<Vec<Literal>, RuleError> {
        match &v.value {
            Value::Array(items) => Ok(items.iter().cloned().map(Literal::new).collect()),
            _ => Err(self.error(&v.referenced, format!("`{op}` takes a list"))),
        }
    }

    fn action(&self, raw: &Spanned<RawAction>) -> Result<RuleAction, RuleError> {
        let a = &raw.value;
        let kind = a.kind.value.as_str();
        let allowed: &[&str] = match kind {
            "allow" | "deny" | "suppress" => &[],
            "reroute" => &["target_provider"],
            "throttle" => &["max_count", "window_seconds"],
            "deduplicate" => &["ttl_seconds"],
            "modify" => &["changes"],
            "schedule" => &["delay_seconds"],
            "group" => &[
                "group_by",
                "group_wait_seconds",
                "group_interval_seconds",
                "repeat_interval_seconds",
                "max_group_size",
                "template",
            ],
            "request_approval" => &["notify_provider", "timeout_seconds", "message"],
            "chain" => &["chain"],
            "state_machine" => &["state_machine", "fingerprint_fields"],
            other => {
                return Err(self.error(
                    &a.kind.referenced,
                    format!(
                        "unknown action type '{other}' (expected one of {})",
                        ACTION_TYPES.join(", ")
                    ),
                ));
            }
        };
        for (param, at) in present_params(a) {
            if !allowed.contains(&param) {
                let takes = if allowed.is_empty() {
                    "no parameters".to_string()
                } else {
                    allowed.join(", ")
                };
                return Err(self.error(
                    &at,
                    format!("`{param}` is not a parameter of `{kind}` actions (it takes {takes})"),
                ));
            }
        }
        let at = &raw.referenced;
        let required_str = |v: &Option<Spanned<String>>, name: &str| -> Result<String, RuleError> {
            match v {
                Some(s) if !s.value.trim().is_empty() => Ok(s.value.clone()),
                Some(s) => Err(self.error(&s.referenced, format!("`{name}` must not be empty"))),
                None => Err(self.error(at, format!("`{kind}` actions require `{name}`"))),
            }
        };
        let number = |v: &Option<Spanned<Value>>, name: &str| self.optional_u64(v, name);
        let required_number = |v: &Option<Spanned<Value>>, name: &str| -> Result<u64, RuleError> {
            number(v, name)?
                .ok_or_else(|| self.error(at, format!("`{kind}` actions require `{name}`")))
        };
        Ok(match kind {
            "allow" => RuleAction::Allow,
            "deny" => RuleAction::Deny,
            "suppress" => RuleAction::Suppress,
            "reroute" => RuleAction::Reroute {
                target_provider: required_str(&a.target_provider, "target_provider")?,
            },
            "throttle" => {
                let window_seconds = required_number(&a.window_seconds, "window_seconds")?;
                if window_seconds == 0 {
                    return Err(self.positional(
                        &a.window_seconds,
                        at,
                        "`window_seconds` must be at least 1",
                    ));
                }
                RuleAction::Throttle {
                    max_count: required_number(&a.max_count, "max_count")?,
                    window_seconds,
                }
            }
            "deduplicate" => RuleAction::Deduplicate {
                ttl_seconds: number(&a.ttl_seconds, "ttl_seconds")?,
            },
            "modify" => match &a.changes {
                Some(Spanned {
                    value: changes @ Value::Object(_),
                    ..
                }) => RuleAction::Modify {
                    changes: changes.clone(),
                },
                Some(other) => {
                    return Err(self.error(
                        &other.referenced,
                        "`changes` must be a mapping (it is merged into the payload)",
                    ));
                }
                None => return Err(self.error(at, "`modify` actions require `changes`")),
            },
            "schedule" => {
                let delay_seconds = required_number(&a.delay_seconds, "delay_seconds")?;
                if !(1..=MAX_SCHEDULE_DELAY_SECONDS).contains(&delay_seconds) {
                    return Err(self.positional(
                        &a.delay_seconds,
                        at,
                        format!(
                            "`delay_seconds` must be between 1 and {MAX_SCHEDULE_DELAY_SECONDS}"
                        ),
                    ));
                }
                RuleAction::Schedule { delay_seconds }
            }
            "group" => {
                let group_by = match &a.group_by {
                    Some(list) if !list.value.is_empty() => {
                        for field in &list.value {
                            validate_group_field(field)
                                .map_err(|e| self.error(&list.referenced, e))?;
                        }
                        list.value.clone()
                    }
                    Some(list) => {
                        return Err(
                            self.error(&list.referenced, "`group_by` must list at least one field")
                        );
                    }
                    None => return Err(self.error(at, "`group` actions require `group_by`")),
                };
                let max_group_size = number(&a.max_group_size, "max_group_size")?.unwrap_or(100);
                if max_group_size == 0 {
                    return Err(self.positional(
                        &a.max_group_size,
                        at,
                        "`max_group_size` must be at least 1",
                    ));
                }
                RuleAction::Group {
                    group_by,
                    group_wait_seconds: number(&a.group_wait_seconds, "group_wait_seconds")?
                        .unwrap_or(30),
                    group_interval_seconds: number(
                        &a.group_interval_seconds,
                        "group_interval_seconds",
                    )?
                    .unwrap_or(300),
                    repeat_interval_seconds: number(
                        &a.repeat_interval_seconds,
                        "repeat_interval_seconds",
                    )?,
                    max_group_size,
                    template: a.template.as_ref().map(|t| t.value.clone()),
                }
            }
            "request_approval" => {
                let timeout_seconds =
                    number(&a.timeout_seconds, "timeout_seconds")?.unwrap_or(3600);
                if timeout_seconds == 0 {
                    return Err(self.positional(
                        &a.timeout_seconds,
                        at,
                        "`timeout_seconds` must be at least 1",
                    ));
                }
                RuleAction::RequestApproval {
                    notify_provider: required_str(&a.notify_provider, "notify_provider")?,
                    timeout_seconds,
                    message: a.message.as_ref().map(|m| m.value.clone()),
                }
            }
            "chain" => RuleAction::Chain {
                chain: required_str(&a.chain, "chain")?,
            },
            _ => RuleAction::StateMachine {
                state_machine: required_str(&a.state_machine, "state_machine")?,
                fingerprint_fields: match &a.fingerprint_fields {
                    Some(list) => {
                        for field in &list.value {
                            validate_group_field(field)
                                .map_err(|e| self.error(&list.referenced, e))?;
                        }
                        list.value.clone()
                    }
                    None => Vec::new(),
                },
            },
        })
    }

    /// An error at the parameter's own position when it was written, else at the action.
    fn positional(
        &self,
        param: &Option<Spanned<Value>>,
        fallback: &Location,
        message: impl Into<String>,
    ) -> RuleError {
        let at = param.as_ref().map_or(fallback, |p| &p.referenced);
        self.error(at, message)
    }

    fn optional_u64(
        &self,
        v: &Option<Spanned<Value>>,
        name: &str,
    ) -> Result<Option<u64>, RuleError> {
        let Some(s) = v else { return Ok(None) };
        let n = s.value.as_u64().ok_or_else(|| {
            self.error(
                &s.referenced,
                format!(
                    "`{name}` must be a non-negative whole number, found {}",
                    s.value
                ),
            )
        })?;
        // Time arithmetic on a duration must never overflow at dispatch.
        if name.ends_with("_seconds") && n > crate::action::MAX_DURATION_SECONDS {
            return Err(self.error(
                &s.referenced,
                format!(
                    "`{name}` must be at most {} (10 years), found {n}",
                    crate::action::MAX_DURATION_SECONDS
                ),
            ));
        }
        Ok(Some(n))
    }
}

/// The parameters written in an action block, with where each was written.
fn present_params(a: &RawAction) -> Vec<(&'static str, Location)> {
    let mut out = Vec::new();
    macro_rules! check {
        ($($field:ident),*) => {
            $(if let Some(v) = &a.$field { out.push((stringify!($field), v.referenced)); })*
        };
    }
    check!(
        target_provider,
        max_count,
        window_seconds,
        ttl_seconds,
        changes,
        delay_seconds,
        group_by,
        group_wait_seconds,
        group_interval_seconds,
        repeat_interval_seconds,
        max_group_size,
        template,
        notify_provider,
        timeout_seconds,
        message,
        chain,
        state_machine,
        fingerprint_fields
    );
    out
}

/// Fields a group or fingerprint can be keyed on: routing fields, metadata
/// labels and payload paths (optionally prefixed with `action.`).
pub fn validate_group_field(field: &str) -> Result<(), String> {
    let field = field.strip_prefix("action.").unwrap_or(field);
    let ok = matches!(
        field,
        "namespace" | "tenant" | "provider" | "action_type" | "status"
    ) || field
        .strip_prefix("metadata.")
        .is_some_and(|k| !k.is_empty() && !k.contains('.'))
        || field
            .strip_prefix("payload.")
            .is_some_and(|p| p.split('.').all(|s| !s.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "cannot group by '{field}' (use namespace, tenant, provider, action_type, status, metadata.<key> or payload.<path>)"
        ))
    }
}
